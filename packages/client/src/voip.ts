// The SDK's front door: REST (auth, users, calls) and signaling behind one object, which routes the
// server's call events to Call objects and keeps them right across reconnections.
import type { Media } from '@voip/contracts/calls';
import type { ServerEventPayload } from '@voip/contracts/socket';
import {
  CALL_SERVER_EVENTS,
  type CallServerEventName,
  RECORDING_SERVER_EVENTS,
} from '@voip/contracts/socket-events';
import { AdminApi, AuthApi, CallsApi, RecordingsApi, UsersApi } from './api.js';
import { ApiError, isApiError } from './api-error.js';
import type { BackoffOptions } from './backoff.js';
import { Call, type CallTransport, type MediaSessionFactory, type Offer } from './call.js';
import { loadClientId } from './client-id.js';
import type { ConnectionSnapshot } from './connection-state.js';
import { Emitter } from './emitter.js';
import { RestClient } from './rest-client.js';
import { SignalingClient, type Transport } from './signaling-client.js';
import { defaultStorage, type KeyValueStorage } from './storage.js';

export interface VoipClientOptions {
  /** Public base URL (Nginx), e.g. `https://voip.example.com`. */
  url: string;
  /** Tokens and the clientId live here; default localStorage in browsers, memory elsewhere. */
  storage?: KeyValueStorage;
  fetch?: typeof fetch;
  transports?: Transport[];
  /** Reconnection tries per outage before `failed` (default 5, seed 001). */
  maxReconnectAttempts?: number;
  backoff?: BackoffOptions;
  connectTimeoutMs?: number;
  ackTimeoutMs?: number;
  heartbeat?: boolean;
  proactiveRefresh?: boolean;
  /** Makes the media side of each call (see webrtc.ts); without it, offers/answers are passed by hand. */
  media?: MediaSessionFactory;
}

export interface VoipClientEvents {
  /** The signaling connection's state machine. */
  connection: ConnectionSnapshot;
  'incoming-call': Call;
  /** Any call this client starts or receives. */
  call: Call;
  presence: ServerEventPayload<'presence'>;
  /** Recording (issue 18): the peer asks (answer with recordings.consent), it started, stopped, failed, is ready. */
  'recording-requested': ServerEventPayload<'recording-requested'>;
  'recording-started': ServerEventPayload<'recording-started'>;
  'recording-stopped': ServerEventPayload<'recording-stopped'>;
  'recording-failed': ServerEventPayload<'recording-failed'>;
  'recording-ready': ServerEventPayload<'recording-ready'>;
  'session-revoked': ServerEventPayload<'session-revoked'>;
  /** The refresh token was refused: sign in again. */
  'session-lost': ApiError;
}

/** Glare: the peer's call `replacedBy` survives and ours, `callId`, does not (see startCall). */
const callReplaced = (callId: string, replacedBy: string) =>
  new ApiError(409, 'CALL_REPLACED', 'the peer called you at the same time and their call was kept', {
    callId,
    replacedBy,
  });

export class VoipClient extends Emitter<VoipClientEvents> {
  readonly rest: RestClient;
  readonly auth: AuthApi;
  readonly users: UsersApi;
  readonly calls: CallsApi;
  /** Call recording with consent (apps/media). */
  readonly recordings: RecordingsApi;
  /** Guest housekeeping; only an admin's token may use it. */
  readonly admin: AdminApi;
  readonly signaling: SignalingClient;
  readonly clientId: string;
  readonly #calls = new Map<string, Call>();
  readonly #transport: CallTransport;

  constructor(opts: VoipClientOptions) {
    super();
    const storage = opts.storage ?? defaultStorage();
    this.clientId = loadClientId(storage);
    this.rest = new RestClient({
      baseUrl: opts.url,
      storage,
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.proactiveRefresh !== undefined ? { proactiveRefresh: opts.proactiveRefresh } : {}),
    });
    this.auth = new AuthApi(this.rest);
    this.users = new UsersApi(this.rest);
    this.calls = new CallsApi(this.rest);
    this.recordings = new RecordingsApi(this.rest);
    this.admin = new AdminApi(this.rest);
    this.signaling = new SignalingClient({
      url: this.rest.baseUrl,
      clientId: this.clientId,
      token: () => this.rest.accessToken(),
      refreshToken: async () => (await this.rest.refresh()).accessToken,
      ...(opts.transports ? { transports: opts.transports } : {}),
      ...(opts.maxReconnectAttempts !== undefined ? { maxAttempts: opts.maxReconnectAttempts } : {}),
      ...(opts.backoff ? { backoff: opts.backoff } : {}),
      ...(opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: opts.connectTimeoutMs } : {}),
      ...(opts.ackTimeoutMs !== undefined ? { ackTimeoutMs: opts.ackTimeoutMs } : {}),
      ...(opts.heartbeat !== undefined ? { heartbeat: opts.heartbeat } : {}),
    });
    this.#transport = {
      request: (event, payload) => this.signaling.request(event, payload),
      ...(opts.media ? { createMedia: opts.media } : {}),
    };

    this.rest.on('session-lost', (err) => {
      this.signaling.disconnect();
      this.emit('session-lost', err);
    });
    this.signaling.on('state', (s) => this.emit('connection', s));
    this.signaling.on('presence', (p) => this.emit('presence', p));
    this.signaling.on('session-revoked', (p) => this.emit('session-revoked', p));
    for (const name of RECORDING_SERVER_EVENTS)
      this.signaling.on(name, (p) => (this.emit as (e: string, p: unknown) => void)(name, p));
    this.signaling.on('incoming-call', (p) => this.#onIncoming(p));
    this.signaling.on('reconnected', () => void this.#afterReconnect());
    for (const name of CALL_SERVER_EVENTS) this.#routeToCall(name);
  }

  /** The server's events about one call go to that call's object, typed by the event. */
  #routeToCall<E extends CallServerEventName>(name: E): void {
    this.signaling.on(name, (payload: ServerEventPayload<E>) =>
      this.#calls.get(payload.callId)?.receive(name, payload),
    );
  }

  get connection(): ConnectionSnapshot {
    return this.signaling.snapshot;
  }
  get isConnected(): boolean {
    return this.signaling.connected;
  }
  get signedIn(): boolean {
    return this.rest.tokens !== null;
  }
  /** Calls that have not ended. */
  get activeCalls(): Call[] {
    return [...this.#calls.values()].filter((c) => !c.ended);
  }
  call(callId: string): Call | undefined {
    return this.#calls.get(callId);
  }

  /** Opens the signaling connection (sign in first). */
  connect(): void {
    if (!this.rest.tokens) throw new ApiError(401, 'UNAUTHORIZED', 'sign in before connecting');
    this.signaling.connect();
  }

  disconnect(): void {
    this.signaling.disconnect();
  }

  /** Disconnects, ends the server session and forgets the tokens. */
  async signOut(): Promise<void> {
    for (const call of this.activeCalls) await call.hangUp().catch(() => undefined);
    this.signaling.disconnect();
    await this.auth.logout().catch(() => undefined);
  }

  /**
   * Calls a user: POST /api/calls (busy, blocked, unknown callee fail here as ApiError), then
   * `call-user` with the offer (from the media session, or `opts.offer`).
   *
   * Glare (the peer calls us at the same moment): when the peer's call is the one the server keeps, this
   * rejects with `CALL_REPLACED` and `details: {callId, replacedBy}` (our call, theirs), whether the server
   * said so at once or only while we were dialling; theirs rings here as an incoming call. When our call
   * was replaced only after this resolved, the call ends instead: `cancelled`, with `replacedBy`.
   */
  async startCall(userId: string, media: Media, opts: { offer?: Offer } = {}): Promise<Call> {
    const res = await this.calls.initiate({ calleeId: userId, media });
    if (res.replacedBy) throw callReplaced(res.callId, res.replacedBy);
    const call = new Call(
      {
        callId: res.callId,
        direction: 'outgoing',
        peer: { id: userId },
        media,
        iceServers: res.iceServers,
        expiresAt: res.expiresAt,
      },
      this.#transport,
    );
    this.#track(call);
    try {
      await call.dial(opts.offer);
    } catch (err) {
      // Glare decided the other way between POST /api/calls and `call-user`: ours was replaced by theirs.
      const replacedBy = await this.#replacedBy(call, err);
      if (replacedBy) throw callReplaced(call.id, replacedBy);
      // The server never rang anyone, or refused the offer: do not leave a ringing call behind.
      call.hangUp().catch(() => undefined);
      throw err;
    }
    return call;
  }

  /** The call that replaced `call` in glare, from its end (already heard) or else from the server. */
  async #replacedBy(call: Call, err: unknown): Promise<string | undefined> {
    if (call.endInfo?.replacedBy) return call.endInfo.replacedBy;
    // A replaced call is ended, so the server refuses its offer with INVALID_STATE; call-ended may still be on its way.
    if (!isApiError(err, 'INVALID_STATE') || call.ended) return undefined;
    try {
      const state = await this.calls.get(call.id);
      if (state.state !== 'ended' || !state.replacedBy) return undefined;
      call.endLocally({
        callId: call.id,
        reason: state.endReason ?? 'cancelled',
        durationMs: 0,
        replacedBy: state.replacedBy,
      });
      return state.replacedBy;
    } catch {
      return undefined;
    }
  }

  #onIncoming(p: ServerEventPayload<'incoming-call'>): void {
    if (this.#calls.has(p.callId)) return; // re-delivered after a resume
    // TURN credentials are scoped to the call: fetch them while it rings.
    const iceServers = this.calls.iceServers(p.callId).then((r) => r.iceServers);
    const call = new Call(
      {
        callId: p.callId,
        direction: 'incoming',
        peer: p.from,
        media: p.media,
        offer: p.offer,
        expiresAt: p.expiresAt,
        iceServers,
      },
      this.#transport,
    );
    this.#track(call);
    this.emit('incoming-call', call);
  }

  #track(call: Call): void {
    this.#calls.set(call.id, call);
    call.once('ended', () => {
      // Keep ended calls briefly so late events for them are recognised, then forget them.
      setTimeout(() => this.#calls.delete(call.id), 60_000).unref?.();
    });
    this.emit('call', call);
  }

  /** After an outage, calls may have ended while we were away (resume window passed): ask the server. */
  async #afterReconnect(): Promise<void> {
    await Promise.all(
      this.activeCalls.map(async (call) => {
        call.onSignalingReconnected();
        try {
          const state = await this.calls.get(call.id);
          if (state.state === 'ended')
            call.endLocally({
              callId: call.id,
              reason: state.endReason ?? 'connection-lost',
              durationMs: state.durationMs ?? 0,
            });
        } catch (err) {
          if (err instanceof ApiError && err.status === 404)
            call.endLocally({ callId: call.id, reason: 'connection-lost', durationMs: 0 });
        }
      }),
    );
  }
}
