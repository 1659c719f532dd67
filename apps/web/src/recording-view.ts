// Call recording in the demo (issue 18): ask (Record), the other side's consent prompt, the indicator on
// both sides while recording, the media switched to the call's room on the media server and back to
// peer-to-peer when it stops or fails, and a download link once the file is ready.
import type { Call } from '@voip/client/call';
import type { VoipClient } from '@voip/client/voip';
import { RecordingMedia, type WebRtcSession } from '@voip/client/webrtc';
import { byId, describeError, show } from './dom.js';

const STOP_TEXT: Record<string, string> = {
  stopped: 'Recording stopped',
  'call-ended': 'Recording ended with the call',
  declined: 'Recording declined',
  cancelled: 'Recording request withdrawn',
  'media-server-lost': 'Recording stopped: the media server was lost (back to peer-to-peer)',
};

export interface RecordingViewDeps {
  client: VoipClient;
  call: () => Call | null;
  session: () => WebRtcSession | null;
  log: (event: string, detail?: unknown) => void;
}

export class RecordingView {
  #recordingId: string | null = null;
  #asked = new Set<string>();
  #media: RecordingMedia | null = null;
  /** The peer-to-peer senders' tracks while the room carries the media (restored on the way back). */
  #paused: { sender: RTCRtpSender; track: MediaStreamTrack | null }[] = [];
  readonly #button = byId<HTMLButtonElement>('record');
  readonly #consent = byId('recording-consent');
  readonly #indicator = byId('recording-indicator');
  readonly #status = byId('recording-status');
  readonly #download = byId('recording-download');
  readonly #link = byId<HTMLAnchorElement>('recording-link');
  readonly #remoteVideo = byId<HTMLVideoElement>('remote-video');

  constructor(private readonly deps: RecordingViewDeps) {
    const c = deps.client;
    this.#button.addEventListener('click', () => void this.#toggle());
    byId('recording-accept').addEventListener('click', () => void this.#answer(true));
    byId('recording-decline').addEventListener('click', () => void this.#answer(false));
    this.#link.addEventListener('click', (e) => {
      e.preventDefault();
      void this.#downloadLink();
    });
    c.on('recording-requested', (p) => {
      this.deps.log('recording-requested', p);
      this.#recordingId = p.recordingId;
      // Mine (the event may arrive before the ask's own answer): wait; theirs: ask me for consent.
      const mine = this.#asked.has(p.recordingId) || p.requestedBy === byId('my-id').textContent;
      if (mine) this.#status.textContent = 'Waiting for the other side to consent…';
      else show(this.#consent, true);
    });
    c.on('recording-started', (p) => {
      this.deps.log('recording-started', p);
      this.#recordingId = p.recordingId;
      show(this.#consent, false);
      show(this.#indicator, true);
      this.#status.textContent = 'Recording';
      this.#button.textContent = 'Stop recording';
      void this.#switchToRoom(p.callId, p.recordingId);
    });
    c.on('recording-stopped', (p) => {
      this.deps.log('recording-stopped', p);
      this.#status.textContent = STOP_TEXT[p.reason] ?? 'Recording stopped';
      this.#back();
    });
    c.on('recording-failed', (p) => {
      this.deps.log('recording-failed', p);
      this.#status.textContent = `Recording failed: ${p.reason}`;
      this.#back();
    });
    c.on('recording-ready', (p) => {
      this.deps.log('recording-ready', p);
      this.#recordingId = p.recordingId;
      this.#status.textContent = `Recording ready (${Math.round(p.durationMs / 1000)} s)`;
      show(this.#download, true);
    });
    setInterval(() => this.#render(), 500);
  }

  get media(): RecordingMedia | null {
    return this.#media;
  }
  get recordingId(): string | null {
    return this.#recordingId;
  }

  #render(): void {
    const call = this.deps.call();
    this.#button.disabled = !call || call.status !== 'accepted';
  }

  async #toggle(): Promise<void> {
    const call = this.deps.call();
    if (!call) return;
    try {
      if (this.#media && this.#recordingId) {
        await this.deps.client.recordings.stop(call.id, this.#recordingId);
        return;
      }
      const rec = await this.deps.client.recordings.ask(call.id);
      this.#asked.add(rec.recordingId);
      this.#recordingId = rec.recordingId;
      this.#status.textContent = 'Waiting for the other side to consent…';
    } catch (err) {
      this.#status.textContent = describeError(err);
    }
  }

  async #answer(consent: boolean): Promise<void> {
    const call = this.deps.call();
    show(this.#consent, false);
    if (!call || !this.#recordingId) return;
    await this.deps.client.recordings
      .consent(call.id, this.#recordingId, consent)
      .catch((err) => (this.#status.textContent = describeError(err)));
  }

  /** Publishes to and subscribes from the room; once the room's media arrives it replaces the P2P media. */
  async #switchToRoom(callId: string, recordingId: string): Promise<void> {
    const session = this.deps.session();
    if (!session?.localStream || !session.pc) return;
    const media = new RecordingMedia(
      this.deps.client.recordings,
      callId,
      recordingId,
      session.localStream,
      session.pc.getConfiguration(),
    );
    this.#media = media;
    media.on('remote-stream', (s) => {
      if (this.#media !== media) return;
      this.#remoteVideo.srcObject = s;
      this.#remoteVideo.play().catch(() => undefined);
      // The room carries the media now: stop sending it peer to peer (no renegotiation needed).
      const pc = session.pc;
      if (pc && this.#paused.length === 0)
        for (const sender of pc.getSenders()) {
          this.#paused.push({ sender, track: sender.track });
          void sender.replaceTrack(null);
        }
    });
    media.on('failed', (err) => {
      this.deps.log('recording-media-failed', err.message);
      this.#back();
    });
    try {
      await media.start();
    } catch (err) {
      this.deps.log('recording-media-failed', describeError(err));
      if (this.#media === media) this.#back();
    }
  }

  /** Back to the peer-to-peer media: the senders resume, the remote tile shows the P2P stream again. */
  #back(): void {
    show(this.#indicator, false);
    show(this.#consent, false);
    this.#button.textContent = 'Record';
    for (const { sender, track } of this.#paused) void sender.replaceTrack(track).catch(() => undefined);
    this.#paused = [];
    const session = this.deps.session();
    if (this.#media && session) {
      this.#remoteVideo.srcObject = session.remoteStream;
      this.#remoteVideo.play().catch(() => undefined);
    }
    this.#media?.close();
    this.#media = null;
  }

  async #downloadLink(): Promise<void> {
    if (!this.#recordingId) return;
    try {
      const link = await this.deps.client.recordings.link(this.#recordingId);
      window.location.assign(link.url);
    } catch (err) {
      this.#status.textContent = describeError(err);
    }
  }
}
