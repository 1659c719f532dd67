// The call panel: outgoing and incoming calls, the accept/reject prompt, video tiles, mute, hang up.
// One call at a time; a second incoming call while busy is declined as busy.
import { isApiError } from '@voip/client/api-error';
import type { Call } from '@voip/client/call';
import type { VoipClient } from '@voip/client/voip';
import type { QualitySample } from '@voip/client/quality-monitor';
import type { WebRtcSession } from '@voip/client/webrtc';
import type { Media } from '@voip/contracts/calls';
import { byId, formatDuration, show } from './dom.js';
import type { People } from './people.js';

const END_TEXT: Record<string, string> = {
  hangup: 'Call ended',
  cancelled: 'Call cancelled',
  'no-answer': 'No answer',
  rejected: 'Call declined',
  busy: 'Busy',
  'connection-lost': 'Connection lost',
  failed: 'Call failed',
};

export interface CallViewDeps {
  client: VoipClient;
  people: People;
  onEnded: (call: Call) => void;
  onError: (err: unknown) => void;
  log: (event: string, detail?: unknown) => void;
}

export class CallView {
  #call: Call | null = null;
  /** Glare: the call that replaced ours, to answer as soon as it rings here (it may not have yet). */
  #answerWhenRings: string | null = null;
  /** The call being accepted (the click and a glare hand-over must not accept it twice). */
  #accepting: Call | null = null;
  #session: WebRtcSession | null = null;
  #ticker: ReturnType<typeof setInterval> | undefined;
  readonly #status = byId('call-status');
  readonly #quality = byId('call-quality');
  /** Our last quality sample while in a call. */
  #sample: QualitySample | null = null;
  readonly #incoming = byId('incoming');
  readonly #remoteVideo = byId<HTMLVideoElement>('remote-video');
  readonly #localVideo = byId<HTMLVideoElement>('local-video');
  readonly #muteAudio = byId<HTMLButtonElement>('mute-audio');
  readonly #muteVideo = byId<HTMLButtonElement>('mute-video');
  readonly #hangUp = byId<HTMLButtonElement>('hang-up');

  constructor(private readonly deps: CallViewDeps) {
    byId('accept').addEventListener('click', () => void this.#accept());
    byId('reject').addEventListener('click', () => void this.#call?.reject().catch(deps.onError));
    this.#hangUp.addEventListener('click', () => void this.#call?.hangUp().catch(deps.onError));
    this.#muteAudio.addEventListener('click', () => this.#toggle('audio'));
    this.#muteVideo.addEventListener('click', () => this.#toggle('video'));
    // 'call' comes before the media session is made, so the tiles can attach to it.
    deps.client.on('call', (call) => this.#onCall(call));
  }

  get call(): Call | null {
    return this.#call;
  }
  get session(): WebRtcSession | null {
    return this.#session;
  }

  /** Called by the WebRTC helper for every call's media session. */
  attachSession(session: WebRtcSession, call: Call): void {
    if (call !== this.#call) return;
    this.#session = session;
    session.on('local-stream', (s) => {
      this.#localVideo.srcObject = s;
      this.#muteAudio.disabled = false;
      this.#muteVideo.disabled = call.media !== 'video';
    });
    session.on('quality', (q) => {
      this.#sample = q;
      this.#renderQuality();
    });
    session.on('quality-step', (c) => this.deps.log('quality-step', c));
    session.on('quality-report', (r) => this.deps.log('quality-report', r));
    session.on('remote-stream', (s) => {
      this.#remoteVideo.srcObject = s;
      this.#remoteVideo.play().catch(() => undefined);
    });
    session.on('connection-state', (state) => {
      this.deps.log('pc-state', state);
      this.#render();
    });
    session.on('ice-restart', (r) => this.deps.log('ice-restart', r.reason));
  }

  async start(userId: string, media: Media): Promise<void> {
    if (this.#call && !this.#call.ended) {
      this.deps.onError(new Error('already in a call'));
      return;
    }
    this.#status.textContent = `Calling ${this.deps.people.known(userId) ?? userId}…`;
    try {
      await this.deps.client.startCall(userId, media);
    } catch (err) {
      if (!this.#call || this.#call.ended) this.#status.textContent = 'No call';
      // Glare: they called us at the same moment and their call won. It rings here now or soon (their
      // offer may still be on its way): answer it, this is no error to show.
      const replacedBy = (err as { details?: { replacedBy?: string } }).details?.replacedBy;
      if (isApiError(err, 'CALL_REPLACED') && replacedBy) {
        this.#answerReplacement(replacedBy);
        return;
      }
      this.deps.onError(err);
    }
  }

  /** Takes the call that replaced ours in glare: answers it if it rings already, else once it does. */
  #answerReplacement(callId: string): void {
    this.deps.log('glare-lost', callId);
    const theirs = this.deps.client.call(callId);
    if (!theirs) {
      this.#answerWhenRings = callId;
      return;
    }
    if (theirs.ended) return;
    if (theirs !== this.#call) {
      if (this.#call && !this.#call.ended) return;
      this.#bind(theirs);
    }
    void this.#accept();
  }

  #onCall(call: Call): void {
    this.deps.people.remember(call.peer.id, call.peer.displayName);
    this.deps.log(call.direction === 'incoming' ? 'incoming-call' : 'outgoing-call', call.id);
    const current = this.#call;
    if (current && !current.ended) {
      if (call.direction !== 'incoming') return;
      // Glare: we are calling them while they call us. The server keeps one of the two calls and ends
      // the other with replacedBy; if ours loses, we answer theirs (see #bind's 'ended').
      if (
        current.direction === 'outgoing' &&
        current.status !== 'accepted' &&
        current.peer.id === call.peer.id
      )
        return;
      call.reject('busy').catch(() => undefined);
      return;
    }
    this.#bind(call);
    if (call.id === this.#answerWhenRings) {
      this.#answerWhenRings = null;
      void this.#accept();
    }
  }

  async #accept(): Promise<void> {
    const call = this.#call;
    if (call?.status !== 'ringing' || call.direction !== 'incoming' || this.#accepting === call) return;
    this.#accepting = call;
    show(this.#incoming, false);
    try {
      await call.accept();
    } catch (err) {
      this.deps.onError(err);
    } finally {
      if (this.#accepting === call) this.#accepting = null;
    }
  }

  #bind(call: Call): void {
    this.#call = call;
    this.#session = null;
    this.#sample = null;
    this.#remoteVideo.srcObject = null;
    this.#localVideo.srcObject = null;
    const log = (name: string) => () => this.deps.log(name, call.id);
    call.on('status', () => this.#render());
    call.on('ringing', log('call-ringing'));
    call.on('accepted', log('call-accepted'));
    call.on('peer-reconnecting', () => {
      this.deps.log('peer-reconnecting', call.id);
      this.#render();
    });
    call.on('peer-reconnected', () => {
      this.deps.log('peer-reconnected', call.id);
      this.#render();
    });
    call.on('peer-quality', (q) => {
      this.deps.log('peer-quality', q);
      this.#renderQuality();
    });
    call.on('error', (err) => this.deps.log('call-error', err.message));
    call.on('ended', (info) => {
      this.deps.log('call-ended', info);
      clearInterval(this.#ticker);
      this.#render();
      this.deps.onEnded(call);
      if (info.replacedBy && info.replacedBy !== call.id) this.#answerReplacement(info.replacedBy);
    });
    this.#ticker = setInterval(() => this.#render(), 1000);
    this.#render();
  }

  #toggle(kind: 'audio' | 'video'): void {
    const s = this.#session;
    if (!s) return;
    s.setMuted(kind, !s.isMuted(kind));
    this.#render();
  }

  /** Our sending step and path, and "poor connection" when the peer's step or connection says so. */
  #renderQuality(): void {
    const el = this.#quality;
    const call = this.#call;
    const s = this.#sample;
    const peer = call?.peerQuality;
    show(el, Boolean(call && !call.ended && (s || peer)));
    el.dataset.step = s?.step ?? '';
    el.dataset.path = s?.path?.kind ?? '';
    el.dataset.peerStep = peer?.step ?? '';
    const peerDown = Boolean(
      peer && (peer.poor || (peer.step && peer.step !== '1080p' && peer.step !== '720p')),
    );
    el.dataset.peerPoor = String(peerDown);
    const parts: string[] = [];
    if (s) {
      if (s.step) parts.push(`Sending ${s.step}`);
      if (s.path)
        parts.push(
          s.path.kind === 'relay' ? `relayed (${s.path.relayProtocol ?? s.path.transport})` : 'direct',
        );
      if (s.rttMs !== null) parts.push(`RTT ${Math.round(s.rttMs)} ms`);
      if (s.lossInPct) parts.push(`loss ${s.lossInPct}%`);
    }
    if (peer)
      parts.push(
        peerDown
          ? `${call?.peer.displayName ?? 'Peer'}: poor connection (${peer.step ?? 'audio'})`
          : `peer sends ${peer.step ?? '—'}`,
      );
    el.textContent = parts.join(' · ');
  }

  #render(): void {
    const call = this.#call;
    const active = Boolean(call && !call.ended);
    show(this.#incoming, Boolean(call && call.direction === 'incoming' && call.status === 'ringing'));
    this.#hangUp.disabled = !active;
    if (!active) {
      show(this.#quality, false);
      this.#muteAudio.disabled = this.#muteVideo.disabled = true;
      this.#localVideo.srcObject = null;
      this.#remoteVideo.srcObject = null;
    }
    const audioMuted = Boolean(this.#session?.isMuted('audio'));
    const videoMuted = Boolean(this.#session?.isMuted('video'));
    this.#muteAudio.textContent = audioMuted ? 'Unmute' : 'Mute';
    this.#muteAudio.dataset.muted = String(audioMuted);
    this.#muteVideo.textContent = videoMuted ? 'Camera on' : 'Camera off';
    this.#muteVideo.dataset.muted = String(videoMuted);
    if (!call) {
      this.#status.textContent = 'No call';
      this.#status.dataset.status = 'idle';
      return;
    }
    const name = call.peer.displayName ?? this.deps.people.known(call.peer.id) ?? call.peer.id;
    byId('remote-label').textContent = name;
    byId('incoming-text').textContent = `${name} is calling (${call.media})`;
    this.#status.dataset.status = call.status;
    this.#status.dataset.peerReconnecting = String(call.peerReconnecting);
    this.#status.dataset.media = this.#session?.pc?.connectionState ?? 'new';
    switch (call.status) {
      case 'calling':
        this.#status.textContent = `Calling ${name}…`;
        break;
      case 'ringing':
        this.#status.textContent = call.direction === 'outgoing' ? `Ringing ${name}…` : `${name} is calling`;
        break;
      case 'accepted': {
        const since = call.answeredAt ? formatDuration(Date.now() - call.answeredAt) : '';
        const media = this.#session?.pc?.connectionState;
        const note = call.peerReconnecting
          ? ' · peer reconnecting…'
          : media && media !== 'connected'
            ? ` · media ${media}`
            : '';
        this.#status.textContent = `In call with ${name} ${since}${note}`;
        break;
      }
      case 'ended': {
        const info = call.endInfo;
        const reason = info ? (END_TEXT[info.reason] ?? info.reason) : 'Call ended';
        this.#status.textContent = `${reason}${info?.durationMs ? ` · ${formatDuration(info.durationMs)}` : ''}`;
        this.#status.dataset.endReason = info?.reason ?? '';
        break;
      }
    }
  }
}
