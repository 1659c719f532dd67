// The browser's media side of a call: an RTCPeerConnection wired to a Call's signaling (trickle ICE
// with end-of-candidates, STUN/TURN from the call's iceServers, remote tracks, and ICE restarts through
// `renegotiate` when the path breaks or the network changes). Browser-only: needs RTCPeerConnection.
// Just over ~400 lines: one class whose ICE, restart and track paths share the connection's state; the
// quality sampling and its adaptation already live apart (quality-monitor.ts, quality-adapt.ts).
import type {
  Answer,
  Call,
  Candidate,
  Description,
  MediaSession,
  MediaSessionFactory,
  Offer,
} from './call.js';
import { Emitter } from './emitter.js';
import {
  QualityMonitor,
  type QualityMonitorEvents,
  type QualityOptions,
  type QualitySample,
  type StepChange,
} from './quality-monitor.js';

export interface WebRtcOptions {
  /** Local media for a call; default getUserMedia with audio, plus video for video calls. */
  getLocalStream?: (call: Call) => Promise<MediaStream>;
  /** Merged into the RTCPeerConnection configuration (e.g. `iceTransportPolicy: 'relay'`). */
  rtcConfig?: RTCConfiguration;
  /**
   * Keeps only the server-given ICE URLs this returns true for (e.g. `(u) => u.startsWith('turns:')` to
   * try TURN over TLS alone); an entry left with no URL is dropped. Default: all of them.
   */
  iceUrlFilter?: (url: string) => boolean;
  /** How long ICE may stay `disconnected` before an ICE restart; default 3 s. */
  disconnectedGraceMs?: number;
  /**
   * Call quality: getStats sampling, `call-quality` summaries and send adaptation (see the README for the
   * defaults). `false` turns all of it off.
   */
  quality?: QualityOptions | false;
  /** Called with each session as it is created, to subscribe to its events. */
  onSession?: (session: WebRtcSession, call: Call) => void;
}

export interface WebRtcSessionEvents {
  'local-stream': MediaStream;
  'remote-stream': MediaStream;
  'connection-state': RTCPeerConnectionState;
  'ice-state': RTCIceConnectionState;
  'ice-restart': { reason: string };
  /** One quality sample (every sampleIntervalMs while connected). */
  quality: QualitySample;
  /** Our sending step changed (adaptation). */
  'quality-step': StepChange;
  /** A `call-quality` summary went to the server (and whether it took it). */
  'quality-report': QualityMonitorEvents['report'];
}

export interface InboundStats {
  kind: string;
  packetsReceived: number;
  bytesReceived: number;
  framesDecoded: number;
}

/** The inbound-rtp counters of a connection's stats, one entry a stream (none without a connection). */
async function inboundStatsOf(pc: RTCPeerConnection | null): Promise<InboundStats[]> {
  if (!pc) return [];
  const out: InboundStats[] = [];
  (await pc.getStats()).forEach((s: Record<string, unknown>) => {
    if (s.type !== 'inbound-rtp') return;
    out.push({
      kind: String(s.kind ?? s.mediaType ?? ''),
      packetsReceived: Number(s.packetsReceived ?? 0),
      bytesReceived: Number(s.bytesReceived ?? 0),
      framesDecoded: Number(s.framesDecoded ?? 0),
    });
  });
  return out;
}

/** An RTCPeerConnection-backed MediaSession per call. */
export function webRtcMedia(opts: WebRtcOptions = {}): MediaSessionFactory {
  return (call) => {
    const session = new WebRtcSession(call, opts);
    opts.onSession?.(session, call);
    return session;
  };
}

export class WebRtcSession extends Emitter<WebRtcSessionEvents> implements MediaSession {
  readonly call: Call;
  pc: RTCPeerConnection | null = null;
  localStream: MediaStream | null = null;
  readonly remoteStream: MediaStream;
  readonly #opts: WebRtcOptions;
  #setup: Promise<RTCPeerConnection> | null = null;
  #closed = false;
  #graceTimer: ReturnType<typeof setTimeout> | undefined;
  #restarting = false;
  #quality: QualityMonitor | null = null;
  #firstMediaAt: number | undefined;
  readonly #onNetworkChange = () => this.#maybeRestart('network-change', false);

  constructor(call: Call, opts: WebRtcOptions) {
    super();
    this.call = call;
    this.#opts = opts;
    this.remoteStream = new MediaStream();
  }

  /** The caller drives ICE restarts; the callee answers them (no renegotiation glare). */
  get drivesRestarts(): boolean {
    return this.call.direction === 'outgoing';
  }

  async createOffer(): Promise<Offer> {
    const pc = await this.#ready();
    await pc.setLocalDescription(await pc.createOffer());
    return { type: 'offer', sdp: pc.localDescription!.sdp };
  }

  async createAnswer(offer: Offer): Promise<Answer> {
    const pc = await this.#ready();
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    return { type: 'answer', sdp: pc.localDescription!.sdp };
  }

  async applyAnswer(answer: Answer): Promise<void> {
    const pc = await this.#ready();
    if (pc.signalingState === 'have-local-offer') await pc.setRemoteDescription(answer);
  }

  async addRemoteCandidate(candidate: Candidate | null): Promise<void> {
    const pc = await this.#ready();
    if (candidate === null) {
      // End of candidates; older engines reject the form, which changes nothing for them.
      await pc.addIceCandidate().catch(() => undefined);
      return;
    }
    if (!candidate.candidate) return;
    await pc.addIceCandidate(candidate);
  }

  async handleRenegotiation(description: Description): Promise<void> {
    const pc = await this.#ready();
    if (description.type === 'offer') {
      // Glare (both restarting): the caller's offer wins, the callee rolls back implicitly.
      if (pc.signalingState === 'have-local-offer' && this.drivesRestarts) return;
      await pc.setRemoteDescription(description as RTCSessionDescriptionInit);
      await pc.setLocalDescription(await pc.createAnswer());
      await this.call.renegotiate({ type: 'answer', sdp: pc.localDescription!.sdp });
    } else if (description.type === 'answer' && pc.signalingState === 'have-local-offer') {
      await pc.setRemoteDescription(description as RTCSessionDescriptionInit);
    }
  }

  onReconnected(who: 'self' | 'peer'): void {
    // Signaling came back: if media broke meanwhile, the restart's offer can now reach the peer.
    const s = this.pc?.iceConnectionState;
    if (s === 'disconnected' || s === 'failed') this.#maybeRestart(`${who}-reconnected`, true);
  }

  /** Starts an ICE restart now (callers only; a callee's restart would race the caller's). */
  async restartIce(reason = 'manual'): Promise<void> {
    const pc = this.pc;
    if (!pc || this.#closed || this.#restarting || !this.drivesRestarts) return;
    if (pc.signalingState !== 'stable' || this.call.status !== 'accepted') return;
    this.#restarting = true;
    try {
      this.emit('ice-restart', { reason });
      await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
      await this.call.renegotiate({ type: 'offer', sdp: pc.localDescription!.sdp });
    } finally {
      this.#restarting = false;
    }
  }

  /** Mutes or unmutes the local audio or video (the track keeps flowing silence/black). */
  setMuted(kind: 'audio' | 'video', muted: boolean): void {
    for (const track of this.localStream?.getTracks() ?? []) if (track.kind === kind) track.enabled = !muted;
  }

  isMuted(kind: 'audio' | 'video'): boolean {
    const tracks = this.localStream?.getTracks().filter((t) => t.kind === kind) ?? [];
    return tracks.length > 0 && tracks.every((t) => !t.enabled);
  }

  /** The quality monitor, once the connection first connected (null with `quality: false`). */
  get quality(): QualityMonitor | null {
    return this.#quality;
  }

  async beforeHangUp(): Promise<void> {
    await this.#quality?.finish({ sample: true });
  }

  /** Inbound RTP counters per media kind (what tests and quality indicators read). */
  inboundStats(): Promise<InboundStats[]> {
    return inboundStatsOf(this.pc);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#graceTimer);
    this.#watchNetwork(false);
    // The peer hung up (or the call ended otherwise): the final summary from what was measured.
    void this.#quality?.finish({ sample: false });
    for (const track of this.localStream?.getTracks() ?? []) track.stop();
    this.pc?.close();
  }

  #ready(): Promise<RTCPeerConnection> {
    this.#setup ??= this.#create();
    return this.#setup;
  }

  async #create(): Promise<RTCPeerConnection> {
    const keep = this.#opts.iceUrlFilter;
    const iceServers = (await this.call.iceServers).flatMap((server) => {
      if (!keep) return [server];
      const urls = [server.urls].flat().filter(keep);
      return urls.length ? [{ ...server, urls }] : [];
    });
    const pc = new RTCPeerConnection({
      ...this.#opts.rtcConfig,
      iceServers: [...iceServers, ...(this.#opts.rtcConfig?.iceServers ?? [])],
    });
    this.pc = pc;
    pc.onicecandidate = (e) => {
      if (this.#closed) return;
      // null = gathering complete: tell the peer (API.md's end of candidates).
      if (!e.candidate) this.call.sendIceCandidate(null);
      else if (e.candidate.candidate) this.call.sendIceCandidate(e.candidate.toJSON() as Candidate);
    };
    pc.ontrack = (e) => {
      // A remote track unmutes when its first packet arrives: the end of time-to-media.
      const first = () => {
        this.#firstMediaAt ??= Date.now();
        this.#quality?.markFirstMedia(this.#firstMediaAt);
      };
      if (!e.track.muted) first();
      else e.track.addEventListener('unmute', first, { once: true });
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      this.emit('remote-stream', this.remoteStream);
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === 'connected') this.#startQuality(pc);
      this.emit('connection-state', pc.connectionState);
    };
    pc.oniceconnectionstatechange = () => {
      const s = pc.iceConnectionState;
      this.emit('ice-state', s);
      clearTimeout(this.#graceTimer);
      if (s === 'failed') this.#maybeRestart('ice-failed', false);
      else if (s === 'disconnected') {
        this.#graceTimer = setTimeout(() => {
          if (pc.iceConnectionState === 'disconnected') this.#maybeRestart('ice-disconnected', false);
        }, this.#opts.disconnectedGraceMs ?? 3000);
      }
    };
    this.#watchNetwork(true);

    const getStream =
      this.#opts.getLocalStream ??
      ((call: Call) => navigator.mediaDevices.getUserMedia({ audio: true, video: call.media === 'video' }));
    const stream = await getStream(this.call);
    if (this.#closed) {
      for (const t of stream.getTracks()) t.stop();
      throw new Error('call ended while opening local media');
    }
    this.localStream = stream;
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    this.emit('local-stream', stream);
    return pc;
  }

  #startQuality(pc: RTCPeerConnection): void {
    if (this.#quality || this.#closed || this.#opts.quality === false) return;
    const q = new QualityMonitor(pc, this.call, this.#opts.quality ?? {});
    this.#quality = q;
    if (this.#firstMediaAt !== undefined) q.markFirstMedia(this.#firstMediaAt);
    q.on('sample', (s) => this.emit('quality', s));
    q.on('step', (c) => this.emit('quality-step', c));
    q.on('report', (r) => this.emit('quality-report', r));
    q.start();
  }

  #maybeRestart(reason: string, onlyIfBroken: boolean): void {
    const s = this.pc?.iceConnectionState;
    if (onlyIfBroken && s !== 'disconnected' && s !== 'failed') return;
    this.restartIce(reason).catch(() => undefined);
  }

  #watchNetwork(on: boolean): void {
    if (typeof window === 'undefined') return;
    const connection = (navigator as { connection?: EventTarget }).connection;
    window.removeEventListener('online', this.#onNetworkChange);
    connection?.removeEventListener?.('change', this.#onNetworkChange);
    if (on) {
      window.addEventListener('online', this.#onNetworkChange);
      connection?.addEventListener?.('change', this.#onNetworkChange);
    }
  }
}

/** What RecordingMedia needs of the REST API (RecordingsApi). */
export interface RecordingSignaling {
  publish(
    callId: string,
    recordingId: string,
    offer: { type: 'offer'; sdp: string },
  ): Promise<{ answer: { type: 'answer'; sdp: string } }>;
  subscribe(callId: string, recordingId: string): Promise<{ offer: { type: 'offer'; sdp: string } }>;
  answerSubscription(
    callId: string,
    recordingId: string,
    answer: { type: 'answer'; sdp: string },
  ): Promise<void>;
}

export interface RecordingMediaEvents {
  /** The other participant's media from the room: show it instead of the peer-to-peer stream. */
  'remote-stream': MediaStream;
  /** The room's connection failed: go back to the peer-to-peer media. */
  failed: Error;
}

/** Answers that mean the media server was slow or briefly away: worth the same request again. */
const SLOW_SERVER = ['UNAVAILABLE', 'UPSTREAM_TIMEOUT'] as const;

const gathered = (pc: RTCPeerConnection, timeoutMs = 5000) =>
  new Promise<void>((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const done = () => {
      if (pc.iceGatheringState === 'complete') resolve();
    };
    pc.addEventListener('icegatheringstatechange', done);
    setTimeout(resolve, timeoutMs);
  });

/**
 * A recorded call's media through the media server (issue 18): the same local tracks sent to the call's
 * Janus room (send-only), and the other participant's media received from it (receive-only), each
 * negotiated over REST without trickle (every candidate in the SDP). The call and its peer-to-peer
 * connection stay up: the app pauses the peer-to-peer senders while this carries the media and resumes
 * them when the recording stops or this fails (the way back to P2P).
 */
export class RecordingMedia extends Emitter<RecordingMediaEvents> {
  pub: RTCPeerConnection | null = null;
  sub: RTCPeerConnection | null = null;
  readonly remoteStream = new MediaStream();
  #closed = false;

  constructor(
    private readonly api: RecordingSignaling,
    readonly callId: string,
    readonly recordingId: string,
    private readonly local: MediaStream,
    private readonly rtcConfig: RTCConfiguration = {},
  ) {
    super();
  }

  /**
   * Publishes, then subscribes, each retried up to `waitMs` while the answer says to try again: the media
   * server slow to answer (503, 504), or, for the subscription, the other side not published yet (409).
   */
  async start(waitMs = 20_000): Promise<void> {
    const deadline = Date.now() + waitMs;
    const pub = new RTCPeerConnection(this.rtcConfig);
    this.pub = pub;
    for (const t of this.local.getTracks())
      pub.addTransceiver(t, { direction: 'sendonly', streams: [this.local] });
    await pub.setLocalDescription(await pub.createOffer());
    await gathered(pub);
    // The same offer again on a retry: the media server replaces a publisher it may have half made.
    const { answer } = await this.#retrying(deadline, SLOW_SERVER, () =>
      this.api.publish(this.callId, this.recordingId, { type: 'offer', sdp: pub.localDescription!.sdp }),
    );
    if (this.#closed) return;
    await pub.setRemoteDescription(answer);
    this.#watch(pub);
    await this.#retrying(deadline, [...SLOW_SERVER, 'INVALID_STATE'], () => this.#subscribe());
  }

  /** Janus's offer of the other participant's media, answered by a new receive-only connection. */
  async #subscribe(): Promise<void> {
    const { offer } = await this.api.subscribe(this.callId, this.recordingId);
    if (this.#closed) return;
    this.sub?.close(); // a previous attempt's
    const sub = new RTCPeerConnection(this.rtcConfig);
    this.sub = sub;
    sub.ontrack = (e) => {
      if (!this.remoteStream.getTracks().includes(e.track)) this.remoteStream.addTrack(e.track);
      this.emit('remote-stream', this.remoteStream);
    };
    this.#watch(sub);
    await sub.setRemoteDescription(offer);
    await sub.setLocalDescription(await sub.createAnswer());
    await gathered(sub);
    await this.api.answerSubscription(this.callId, this.recordingId, {
      type: 'answer',
      sdp: sub.localDescription!.sdp,
    });
  }

  /** `attempt` again every 300 ms while it fails with one of `codes`, until `deadline` or close(). */
  async #retrying<T>(deadline: number, codes: readonly string[], attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await attempt();
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (this.#closed || !code || !codes.includes(code) || Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }

  #watch(pc: RTCPeerConnection): void {
    pc.addEventListener('connectionstatechange', () => {
      if (!this.#closed && pc.connectionState === 'failed')
        this.emit('failed', new Error('media server connection failed'));
    });
  }

  /** Inbound stats of the room's connection (same shape as WebRtcSession.inboundStats). */
  inboundStats(): Promise<InboundStats[]> {
    return inboundStatsOf(this.sub);
  }

  close(): void {
    this.#closed = true;
    this.pub?.close();
    this.sub?.close();
  }
}
