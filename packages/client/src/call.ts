// One call as the app sees it: its state, the server's events about it, and the actions a
// participant can take. Signaling only: the media side (RTCPeerConnection in browsers, see webrtc.ts)
// plugs in as a MediaSession, so the same object works in Node (tests, bots) with hand-made SDP.
import type { Media } from '@voip/contracts/calls';
import type { CallQualityPayload, PeerQualityEvent } from '@voip/contracts/quality';
import type { ServerEventPayload } from '@voip/contracts/socket';
import type { CallServerEventName } from '@voip/contracts/socket-events';
import { ApiError } from './api-error.js';
import { Emitter } from './emitter.js';
import type { AckOf, ClientEvent, ClientPayload } from './signaling-client.js';

export type Offer = { type: 'offer'; sdp: string };
export type Answer = { type: 'answer'; sdp: string };
export type Description = ServerEventPayload<'renegotiate'>['description'];
export type Candidate = NonNullable<ServerEventPayload<'ice-candidate'>['candidate']>;
export type IceServer = { urls: string | string[]; username?: string; credential?: string };
export type CallDirection = 'outgoing' | 'incoming';
/** outgoing: calling → ringing → accepted → ended; incoming: ringing → accepted → ended. */
export type CallStatus = 'calling' | 'ringing' | 'accepted' | 'ended';
export type EndInfo = ServerEventPayload<'call-ended'>;

/** The media side of a call (an RTCPeerConnection in browsers). */
export interface MediaSession {
  createOffer(): Promise<Offer>;
  createAnswer(offer: Offer): Promise<Answer>;
  applyAnswer(answer: Answer): Promise<void>;
  /** A remote candidate; null means the peer has no more (end of candidates). */
  addRemoteCandidate(candidate: Candidate | null): Promise<void>;
  /** A description from `renegotiate` (an ICE-restart offer, or the answer to ours). */
  handleRenegotiation(description: Description): Promise<void>;
  /** Signaling is back after an outage, or the peer's is: the media path may need a restart. */
  onReconnected?(who: 'self' | 'peer'): void;
  /** Our hang-up is about to be sent: the last chance to report (the final quality summary). */
  beforeHangUp?(): Promise<void>;
  close(): void;
}
export type MediaSessionFactory = (call: Call) => MediaSession;

/** What a call needs from the client: sending events and the media plug-in. */
export interface CallTransport {
  request<E extends ClientEvent>(event: E, payload: ClientPayload<E>): Promise<AckOf<E>>;
  createMedia?: MediaSessionFactory;
}

export interface CallEvents {
  status: CallStatus;
  /** A device of the callee is ringing (outgoing). */
  ringing: { callId: string };
  /** The call was answered (outgoing: by the callee; incoming: by this device). */
  accepted: { callId: string; answer?: Answer };
  /** Another device of this user answered (incoming). */
  'answered-elsewhere': { callId: string };
  rejected: { callId: string; reason: string };
  ended: EndInfo;
  'peer-reconnecting': { callId: string };
  'peer-reconnected': { callId: string };
  /** The peer's sending step changed or its connection became poor or recovered (`peer-quality`). */
  'peer-quality': PeerQualityEvent;
  'ice-candidate': { callId: string; candidate: Candidate | null };
  renegotiate: { callId: string; description: Description };
  /** A failure in the background (media, a candidate the server refused); the call goes on. */
  error: Error;
}

export interface CallInit {
  callId: string;
  direction: CallDirection;
  peer: { id: string; displayName?: string; kind?: string };
  media: Media;
  /** STUN/TURN for this call (from POST /api/calls, or fetched for an incoming call). */
  iceServers?: IceServer[] | Promise<IceServer[]>;
  offer?: Offer;
  expiresAt?: string;
}

export class Call extends Emitter<CallEvents> {
  readonly id: string;
  readonly direction: CallDirection;
  readonly peer: CallInit['peer'];
  readonly media: Media;
  readonly offer: Offer | undefined;
  readonly expiresAt: string | undefined;
  /** Resolves to the call's STUN/TURN servers (never rejects; empty when unknown). */
  readonly iceServers: Promise<IceServer[]>;
  #status: CallStatus;
  #peerReconnecting = false;
  #answeredAt: number | undefined;
  #end: EndInfo | undefined;
  #session: MediaSession | undefined;
  /** Our candidates wait until the server knows the call from us (call-user / accept-call acked). */
  #signalled = false;
  #localCandidates: (Candidate | null)[] = [];
  /** Peer events that arrive before the media session exists (candidates while ringing). */
  #early: { kind: 'candidate'; candidate: Candidate | null }[] = [];
  #remoteSet = false;
  #peerQuality: PeerQualityEvent | undefined;
  readonly #transport: CallTransport;

  constructor(init: CallInit, transport: CallTransport) {
    super();
    this.id = init.callId;
    this.direction = init.direction;
    this.peer = init.peer;
    this.media = init.media;
    this.offer = init.offer;
    this.expiresAt = init.expiresAt;
    this.iceServers = Promise.resolve(init.iceServers ?? []).catch(() => []);
    this.#status = init.direction === 'outgoing' ? 'calling' : 'ringing';
    this.#transport = transport;
  }

  get status(): CallStatus {
    return this.#status;
  }
  get ended(): boolean {
    return this.#status === 'ended';
  }
  get endInfo(): EndInfo | undefined {
    return this.#end;
  }
  get peerReconnecting(): boolean {
    return this.#peerReconnecting;
  }
  /** The peer's last `peer-quality` (its step and whether its connection is poor). */
  get peerQuality(): PeerQualityEvent | undefined {
    return this.#peerQuality;
  }
  get answeredAt(): number | undefined {
    return this.#answeredAt;
  }
  /** The media session, once the call has one (browser helper or app-provided). */
  get mediaSession(): MediaSession | undefined {
    return this.#session;
  }

  /** Sends our offer to the callee (the client does this right after POST /api/calls). */
  async dial(offer?: Offer): Promise<void> {
    const sdp = offer ?? (await this.#ensureSession()?.createOffer());
    if (!sdp)
      throw new ApiError(0, 'NO_MEDIA', 'startCall needs an offer when no media session is configured');
    // Ended meanwhile (e.g. replaced in glare while the offer was made): the server would refuse it.
    if (this.#end)
      throw new ApiError(0, 'INVALID_STATE', `call ended (${this.#end.reason}) before it was dialled`);
    await this.#transport.request('call-user', { callId: this.id, offer: sdp });
    this.#markSignalled();
  }

  /** Answers an incoming call (with the media session's answer, or the one given). */
  async accept(opts: { answer?: Answer } = {}): Promise<void> {
    if (this.direction !== 'incoming')
      throw new ApiError(0, 'INVALID_STATE', 'only an incoming call can be accepted');
    if (this.#status !== 'ringing') throw new ApiError(0, 'INVALID_STATE', `call is ${this.#status}`);
    let answer = opts.answer;
    if (!answer) {
      const session = this.#ensureSession();
      if (!session || !this.offer)
        throw new ApiError(0, 'NO_MEDIA', 'accept needs an answer when no media session is configured');
      answer = await session.createAnswer(this.offer);
      this.#remoteReady();
    }
    // A refusal (answered elsewhere, already ended) is followed by the server's event that ends the call.
    await this.#transport.request('accept-call', { callId: this.id, answer });
    this.#answeredAt ??= Date.now();
    this.#setStatus('accepted');
    this.#markSignalled();
    this.emit('accepted', { callId: this.id, answer });
  }

  /** Declines an incoming call. */
  async reject(reason: 'declined' | 'busy' = 'declined'): Promise<void> {
    if (this.#status === 'ended') return;
    try {
      await this.#transport.request('reject-call', { callId: this.id, reason });
    } finally {
      this.#finish({ callId: this.id, reason: 'rejected', durationMs: 0 });
    }
  }

  /** Ends the call: cancels it while it rings, hangs up once answered. Local media stops either way. */
  async hangUp(): Promise<void> {
    if (this.#status === 'ended') return;
    const reason = this.#status === 'accepted' ? 'hangup' : 'cancelled';
    const durationMs = this.#answeredAt ? Date.now() - this.#answeredAt : 0;
    if (reason === 'hangup' && this.#session?.beforeHangUp) {
      // Bounded: a stuck getStats or a slow ack must not hold the hang-up.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        this.#session.beforeHangUp().catch(() => undefined),
        new Promise((r) => {
          timer = setTimeout(r, 1500);
        }),
      ]);
      clearTimeout(timer);
      if ((this.#status as CallStatus) === 'ended') return;
    }
    try {
      const ack = (await this.#transport.request('end-call', { callId: this.id, reason })) as {
        durationMs?: unknown;
      };
      this.#finish({
        callId: this.id,
        reason,
        durationMs: typeof ack.durationMs === 'number' ? ack.durationMs : durationMs,
      });
    } catch (err) {
      this.#finish({ callId: this.id, reason, durationMs });
      throw err;
    }
  }

  /** Trickle ICE: a local candidate, or null once gathering is complete. */
  sendIceCandidate(candidate: Candidate | null): void {
    if (this.#status === 'ended') return;
    if (!this.#signalled) {
      this.#localCandidates.push(candidate);
      return;
    }
    this.#transport
      .request('ice-candidate', { callId: this.id, candidate })
      .catch((err) => this.#backgroundError(err));
  }

  /** Sends a new description (ICE restart offer, or the answer to the peer's). */
  renegotiate(description: Description): Promise<void> {
    return this.#transport.request('renegotiate', { callId: this.id, description }).then(() => undefined);
  }

  /**
   * Sends a media-quality summary (`call-quality`). Allowed right after the call ended too: the final
   * summary of the side that did not hang up leaves after `call-ended`.
   */
  sendQuality(summary: Omit<CallQualityPayload, 'callId'>): Promise<void> {
    return this.#transport.request('call-quality', { ...summary, callId: this.id }).then(() => undefined);
  }

  /** Attaches a media session made by the app instead of the client's factory. */
  attachMedia(session: MediaSession): void {
    this.#session = session;
  }

  /** Routes one server event about this call (the client calls it with the event's own payload type). */
  receive<E extends CallServerEventName>(event: E, payload: ServerEventPayload<E>): void {
    if (this.#status === 'ended' && event !== 'call-ended') return;
    this.#handlers[event](payload);
  }

  /** What each server event about this call does: one typed entry per event of CALL_SERVER_EVENTS. */
  readonly #handlers: { [E in CallServerEventName]: (payload: ServerEventPayload<E>) => void } = {
    'call-ringing': () => {
      if (this.#status === 'calling') this.#setStatus('ringing');
      this.emit('ringing', { callId: this.id });
    },
    'call-accepted': ({ answer }) => {
      if (this.#status === 'accepted') return; // re-delivered after a resume
      this.#answeredAt = Date.now();
      this.#setStatus('accepted');
      this.#session?.applyAnswer(answer).then(
        () => this.#remoteReady(),
        (err) => this.#backgroundError(err),
      );
      this.emit('accepted', { callId: this.id, answer });
    },
    'call-answered-elsewhere': () => {
      this.emit('answered-elsewhere', { callId: this.id });
      this.#finish({ callId: this.id, reason: 'hangup', durationMs: 0 });
    },
    'call-rejected': ({ reason }) => {
      this.emit('rejected', { callId: this.id, reason: String(reason ?? 'declined') });
      this.#finish({ callId: this.id, reason: 'rejected', durationMs: 0 });
    },
    'call-ended': (info) => this.#finish(info),
    'peer-reconnecting': () => {
      this.#peerReconnecting = true;
      this.emit('peer-reconnecting', { callId: this.id });
    },
    'peer-reconnected': () => {
      this.#peerReconnecting = false;
      this.emit('peer-reconnected', { callId: this.id });
      this.#session?.onReconnected?.('peer');
    },
    'peer-quality': (q) => {
      this.#peerQuality = { callId: this.id, step: q.step ?? null, poor: q.poor === true };
      this.emit('peer-quality', this.#peerQuality);
    },
    'ice-candidate': (p) => {
      const candidate = p.candidate ?? null;
      this.emit('ice-candidate', { callId: this.id, candidate });
      if (this.#session && this.#remoteSet) {
        this.#session.addRemoteCandidate(candidate).catch((err) => this.#backgroundError(err));
      } else this.#early.push({ kind: 'candidate', candidate });
    },
    renegotiate: ({ description }) => {
      this.emit('renegotiate', { callId: this.id, description });
      this.#session?.handleRenegotiation(description).catch((err) => this.#backgroundError(err));
    },
  };

  /** Our own signaling came back after an outage. */
  onSignalingReconnected(): void {
    if (this.#status !== 'ended') this.#session?.onReconnected?.('self');
  }

  /** Ends the call locally when the server says it is over (reconciliation after an outage). */
  endLocally(info: EndInfo): void {
    this.#finish(info);
  }

  #ensureSession(): MediaSession | undefined {
    if (!this.#session && this.#transport.createMedia) this.#session = this.#transport.createMedia(this);
    return this.#session;
  }

  #markSignalled(): void {
    if (this.#signalled) return;
    this.#signalled = true;
    const pending = this.#localCandidates;
    this.#localCandidates = [];
    for (const c of pending) this.sendIceCandidate(c);
  }

  /** The remote description is in place: feed the candidates that arrived before it. */
  #remoteReady(): void {
    this.#remoteSet = true;
    const early = this.#early;
    this.#early = [];
    for (const e of early)
      this.#session?.addRemoteCandidate(e.candidate).catch((err) => this.#backgroundError(err));
  }

  #setStatus(status: CallStatus): void {
    if (this.#status === status) return;
    this.#status = status;
    this.emit('status', status);
  }

  #finish(info: EndInfo): void {
    if (this.#status === 'ended') return;
    this.#end = info;
    this.#localCandidates = [];
    this.#early = [];
    try {
      this.#session?.close();
    } catch (err) {
      this.#backgroundError(err);
    }
    this.#setStatus('ended');
    this.emit('ended', info);
  }

  #backgroundError(err: unknown): void {
    if (this.#status === 'ended') return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
