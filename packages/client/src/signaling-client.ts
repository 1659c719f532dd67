// The socket.io connection to the signaling service, with reconnection driven here rather than by
// socket.io-client: the handshake must carry a fresh token and the latest resumeToken on every try,
// an expired token is refreshed instead of counted as a failure, `server-shutdown` dictates the delay,
// and the app observes one state machine (connection-state.ts) instead of socket.io's events.
// Over ~400 lines: the connection, its request queue (resent after a resume) and numbered delivery share
// one socket's lifetime; the pure state machine is already apart (connection-state.ts).
import type {
  Ack,
  ClientToServerEvents,
  ServerEventPayload,
  ServerToClientEvents,
} from '@voip/contracts/socket';
import { SERVER_EVENTS, type ServerEventName } from '@voip/contracts/socket-events';
import { io, type Socket } from 'socket.io-client';
import { ApiError } from './api-error.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import {
  type ConnectionEvent,
  type ConnectionSnapshot,
  initialConnection,
  nextConnection,
} from './connection-state.js';
import { Emitter } from './emitter.js';

export type Transport = 'websocket' | 'polling';
export type SessionInfo = ServerEventPayload<'session'>;
export type ClientEvent = keyof ClientToServerEvents;
/** What `request(event, …)` takes for each client event (from the contract's event map). */
export type ClientPayload<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[0];
/** The `ok: true` ack of each client event. */
export type AckOf<E extends ClientEvent> = Extract<
  Parameters<Parameters<ClientToServerEvents[E]>[1]>[0],
  { ok: true }
>;

export interface SignalingOptions {
  /** Public base URL (Nginx); socket.io's path is appended. */
  url: string;
  path?: string;
  /** Default ['websocket', 'polling']: WebSocket first, long-polling where proxies block it. */
  transports?: Transport[];
  clientId: string;
  /** A valid access token (the REST client refreshes it when it has expired). */
  token: () => Promise<string>;
  /** A new access token now (after the server said TOKEN_EXPIRED). */
  refreshToken: () => Promise<string>;
  /** Tries per outage before `failed` (seed 001: 5). */
  maxAttempts?: number;
  backoff?: BackoffOptions;
  /** Time limit for one connection try, handshake and `session` event included; default 10 s. */
  connectTimeoutMs?: number;
  /** Time limit for an event's ack once sent; default 10 s. */
  ackTimeoutMs?: number;
  /** Send app-level heartbeats at the server's `heartbeatIntervalMs`; default true. */
  heartbeat?: boolean;
}

export type SignalingEvents = { [K in ServerEventName]: ServerEventPayload<K> } & {
  /** Every change of the connection state machine. */
  state: ConnectionSnapshot;
  /** The connection is usable again after an outage (after its `session`). */
  reconnected: SessionInfo;
};

interface Pending {
  event: ClientEvent;
  payload: unknown;
  resolve: (ack: { ok: true }) => void;
  reject: (err: ApiError) => void;
  /** Which send of this request an ack belongs to; acks of earlier sends are ignored. */
  sendId: number;
  timer?: ReturnType<typeof setTimeout>;
}

/** connect_error codes that retrying with the same credentials cannot fix. */
const FATAL_CONNECT_CODES = new Set(['UNAUTHORIZED', 'SESSION_REVOKED']);

const errorOf = (err: unknown, fallback = 'CONNECT_FAILED') => {
  if (err instanceof ApiError) return { code: err.code, message: err.message };
  const e = err as { message?: string; data?: { code?: unknown; message?: unknown } } | undefined;
  const code = typeof e?.data?.code === 'string' ? e.data.code : fallback;
  const message = typeof e?.data?.message === 'string' ? e.data.message : (e?.message ?? String(err));
  return { code, message };
};

export class SignalingClient extends Emitter<SignalingEvents> {
  readonly clientId: string;
  readonly #opts: SignalingOptions;
  readonly #maxAttempts: number;
  #snapshot: ConnectionSnapshot = initialConnection;
  #socket: Socket<ServerToClientEvents, ClientToServerEvents> | null = null;
  #handshake: { token: string; clientId: string; resumeToken?: string; lastSeq: number } | null = null;
  #session: SessionInfo | null = null;
  /**
   * The highest `seq` received in this session: sent as `auth.lastSeq` on every handshake (0 at first), so
   * the server numbers what it sends this device and on a resume replays what a silently dead link swallowed.
   * A message with a seq at or below it is a duplicate and dropped; a fresh session starts again from 0.
   */
  #lastSeq = 0;
  #everConnected = false;
  /** Bumped on every try and on disconnect, so callbacks of a superseded try do nothing. */
  #generation = 0;
  #refreshedThisTry = false;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #tryTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #shutdownTimer: ReturnType<typeof setTimeout> | undefined;
  /** Set by `server-shutdown`: the next try waits until then instead of the back-off step. */
  #reconnectNotBefore: number | undefined;
  #queue: Pending[] = [];
  #inflight = new Set<Pending>();
  #sendSeq = 0;
  readonly #onOnline = () => this.retryNow();
  readonly #onOffline = () => this.dropTransport('OFFLINE');

  constructor(opts: SignalingOptions) {
    super();
    this.#opts = opts;
    this.clientId = opts.clientId;
    this.#maxAttempts = opts.maxAttempts ?? 5;
  }

  get snapshot(): ConnectionSnapshot {
    return this.#snapshot;
  }
  get state() {
    return this.#snapshot.state;
  }
  get connected(): boolean {
    return this.#snapshot.state === 'connected';
  }
  get session(): SessionInfo | null {
    return this.#session;
  }
  /** The socket.io id of the current connection (diagnostics). */
  get socketId(): string | undefined {
    return this.#socket?.id;
  }

  connect(): void {
    if (this.#snapshot.state !== 'disconnected' && this.#snapshot.state !== 'failed') return;
    this.#transition({ type: 'connect' });
    this.#listenToNetwork(true);
    void this.#try();
  }

  /** Leaves for good: the server treats this as the user going away, not as a network drop. */
  disconnect(): void {
    this.#close();
  }

  /** Skip the back-off wait (the network came back, or the user pressed "retry"). */
  retryNow(): void {
    if (this.#snapshot.state === 'failed') {
      this.#transition({ type: 'connect' });
      void this.#try();
      return;
    }
    if (this.#snapshot.state !== 'reconnecting' || this.#retryTimer === undefined) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#reconnectNotBefore = undefined;
    this.#transition({ type: 'retry' });
    void this.#try();
  }

  /**
   * Drops the underlying transport as a network failure would (the server keeps the session for its
   * resume window) and reconnects. Used when the browser reports going offline, when heartbeats stop
   * being answered, and by tests.
   */
  dropTransport(code = 'TRANSPORT_DROPPED'): void {
    const socket = this.#socket;
    if (!socket || this.#snapshot.state !== 'connected') return;
    this.#onLost({ code, message: 'transport dropped' });
  }

  /** Sends a client event and resolves with its ack; `ok: false` rejects with an ApiError carrying the code. */
  request<E extends ClientEvent>(event: E, payload: ClientPayload<E>): Promise<AckOf<E>> {
    return new Promise((resolve, reject) => {
      if (this.#snapshot.state === 'disconnected' || this.#snapshot.state === 'failed') {
        reject(new ApiError(0, 'DISCONNECTED', `cannot send ${event}: signaling is ${this.#snapshot.state}`));
        return;
      }
      const p: Pending = { event, payload, resolve: resolve as Pending['resolve'], reject, sendId: 0 };
      if (this.#ready()) this.#send(p);
      else this.#queue.push(p);
    });
  }

  #ready(): boolean {
    return this.#snapshot.state === 'connected' && Boolean(this.#socket?.connected);
  }

  #send(p: Pending): void {
    const socket = this.#socket!;
    const sendId = ++this.#sendSeq;
    p.sendId = sendId;
    this.#inflight.add(p);
    p.timer = setTimeout(() => {
      if (p.sendId !== sendId) return;
      this.#inflight.delete(p);
      p.reject(new ApiError(0, 'TIMEOUT', `no ack for ${p.event}`));
    }, this.#opts.ackTimeoutMs ?? 10_000);
    const emit = socket.emit.bind(socket) as (event: string, payload: unknown, ack: (r: Ack) => void) => void;
    emit(p.event, p.payload, (ack: Ack) => {
      if (p.sendId !== sendId || !this.#inflight.has(p)) return;
      clearTimeout(p.timer);
      this.#inflight.delete(p);
      if (ack && typeof ack === 'object' && ack.ok === true) p.resolve(ack);
      else {
        const error = (ack as { error?: { code?: string; message?: string } })?.error;
        p.reject(new ApiError(0, error?.code ?? 'REJECTED', error?.message ?? `${p.event} was refused`, ack));
      }
    });
  }

  #flush(): void {
    const queued = this.#queue;
    this.#queue = [];
    for (const p of queued) this.#send(p);
  }

  /** Requests that were sent on a connection that died: resend them after reconnecting (the server's
   * handlers are idempotent), ahead of anything queued later so the order is kept. */
  #requeueInflight(): void {
    const inflight = [...this.#inflight].sort((a, b) => a.sendId - b.sendId);
    this.#inflight.clear();
    for (const p of inflight) {
      clearTimeout(p.timer);
      p.sendId = 0;
    }
    this.#queue = [...inflight, ...this.#queue];
  }

  #failAll(code: string, message: string): void {
    const all = [...this.#inflight, ...this.#queue];
    this.#inflight.clear();
    this.#queue = [];
    for (const p of all) {
      clearTimeout(p.timer);
      p.sendId = -1;
      p.reject(new ApiError(0, code, message));
    }
  }

  #close(error?: { code: string; message: string }): void {
    this.#generation++;
    this.#clearTimers();
    this.#listenToNetwork(false);
    this.#handshake = null;
    this.#session = null;
    this.#reconnectNotBefore = undefined;
    const socket = this.#socket;
    this.#socket = null;
    socket?.removeAllListeners();
    socket?.disconnect();
    this.#failAll('DISCONNECTED', error?.message ?? 'signaling disconnected');
    this.#transition(error ? { type: 'closed', error } : { type: 'closed' });
  }

  #transition(e: ConnectionEvent): ConnectionSnapshot {
    const next = nextConnection(this.#snapshot, e, this.#maxAttempts);
    if (next === this.#snapshot) return next;
    this.#snapshot = next;
    this.emit('state', next);
    return next;
  }

  async #try(): Promise<void> {
    const gen = ++this.#generation;
    this.#refreshedThisTry = false;
    let token: string;
    try {
      token = await this.#opts.token();
    } catch (err) {
      if (gen !== this.#generation) return;
      // Without a token there is nothing to retry with (the refresh token was refused).
      const fatal = err instanceof ApiError && err.status === 401;
      this.#onLost(errorOf(err, 'TOKEN_UNAVAILABLE'), fatal);
      return;
    }
    if (gen !== this.#generation) return;
    this.#handshake = {
      token,
      clientId: this.clientId,
      ...(this.#session?.resumeToken ? { resumeToken: this.#session.resumeToken } : {}),
      lastSeq: this.#lastSeq,
    };
    const socket = this.#socket ?? this.#createSocket();
    clearTimeout(this.#tryTimer);
    this.#tryTimer = setTimeout(() => {
      if (gen !== this.#generation || this.#snapshot.state === 'connected') return;
      this.#onLost({ code: 'TIMEOUT', message: 'no session from the server in time' });
    }, this.#opts.connectTimeoutMs ?? 10_000);
    socket.connect();
  }

  #createSocket(): Socket<ServerToClientEvents, ClientToServerEvents> {
    const transports = this.#opts.transports ?? ['websocket', 'polling'];
    const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(this.#opts.url, {
      path: this.#opts.path ?? '/socket.io',
      transports,
      tryAllTransports: transports.length > 1,
      reconnection: false,
      autoConnect: false,
      forceNew: true,
      // Nginx hashes on it so every long-polling request of a session reaches the same instance.
      query: { clientId: this.clientId },
      timeout: this.#opts.connectTimeoutMs ?? 10_000,
      auth: (cb) => cb(this.#handshake ?? {}),
    });
    this.#socket = socket;

    socket.on('connect_error', (err) => {
      if (this.#socket !== socket) return;
      const error = errorOf(err);
      if (error.code === 'TOKEN_EXPIRED' && !this.#refreshedThisTry) {
        // Not a failure of the network: get a new token and go again at once.
        this.#refreshedThisTry = true;
        const gen = this.#generation;
        this.#opts.refreshToken().then(
          (token) => {
            if (gen !== this.#generation || this.#socket !== socket || !this.#handshake) return;
            this.#handshake = { ...this.#handshake, token };
            socket.connect();
          },
          (refreshErr) => {
            if (gen !== this.#generation) return;
            this.#onLost(
              errorOf(refreshErr, 'TOKEN_EXPIRED'),
              refreshErr instanceof ApiError && refreshErr.status === 401,
            );
          },
        );
        return;
      }
      this.#onLost(error, FATAL_CONNECT_CODES.has(error.code));
    });

    socket.on('disconnect', (reason) => {
      if (this.#socket !== socket || reason === 'io client disconnect') return;
      this.#onLost({ code: 'DISCONNECTED', message: reason });
    });

    for (const name of SERVER_EVENTS) {
      (socket.on as (event: string, listener: (payload: never) => void) => void)(name, (payload: never) =>
        this.#onServerEvent(name, payload),
      );
    }
    return socket;
  }

  #onServerEvent(name: ServerEventName, numbered: never): void {
    let payload = numbered;
    const seq = (numbered as { seq?: unknown } | null)?.seq;
    if (typeof seq === 'number') {
      if (seq <= this.#lastSeq) return; // already had it (a replay after a resume)
      this.#lastSeq = seq;
      // The app sees the payloads as before: numbering is this class's business.
      const { seq: _seq, ...rest } = numbered as Record<string, unknown>;
      payload = rest as never;
    }
    if (name === 'session') this.#onSession(payload as SessionInfo);
    else if (name === 'server-shutdown')
      this.#onServerShutdown(payload as ServerEventPayload<'server-shutdown'>);
    else if (name === 'session-revoked') {
      // The server disconnects right after: a revoked session must not reconnect.
      this.emit(name, payload);
      this.#close({
        code: 'SESSION_REVOKED',
        message: (payload as ServerEventPayload<'session-revoked'>).reason,
      });
      return;
    }
    this.emit(name, payload);
  }

  #onSession(session: SessionInfo): void {
    const wasReconnect = this.#everConnected;
    // A fresh session numbers from 1 again.
    if (!session.resumed) this.#lastSeq = 0;
    this.#session = session;
    this.#everConnected = true;
    clearTimeout(this.#tryTimer);
    this.#tryTimer = undefined;
    this.#transition({ type: 'opened' });
    this.#startHeartbeat(session.heartbeatIntervalMs);
    this.#flush();
    if (wasReconnect) this.emit('reconnected', session);
  }

  #onServerShutdown({ reconnectAfterMs }: { reconnectAfterMs: number }): void {
    // Reconnect at the time the server asked for, elsewhere, even if it keeps this socket open until then.
    this.#reconnectNotBefore = Date.now() + reconnectAfterMs;
    clearTimeout(this.#shutdownTimer);
    const socket = this.#socket;
    this.#shutdownTimer = setTimeout(() => {
      if (this.#socket === socket && this.#snapshot.state === 'connected')
        this.dropTransport('SERVER_SHUTDOWN');
    }, reconnectAfterMs);
  }

  #onLost(error: { code: string; message: string }, fatal = false): void {
    if (this.#snapshot.state === 'disconnected' || this.#snapshot.state === 'failed') return;
    if (this.#snapshot.state === 'reconnecting' && this.#retryTimer !== undefined) return; // already waiting
    this.#generation++;
    clearTimeout(this.#tryTimer);
    this.#tryTimer = undefined;
    this.#stopHeartbeat();
    this.#requeueInflight();
    const before = this.#snapshot;
    const attempt = before.state === 'reconnecting' ? before.attempt + 1 : 1;
    const now = Date.now();
    const delay =
      this.#reconnectNotBefore !== undefined
        ? Math.max(0, this.#reconnectNotBefore - now)
        : backoffDelay(attempt - 1, this.#opts.backoff);
    this.#reconnectNotBefore = undefined;
    const after = this.#transition({ type: 'lost', error, fatal, retryAt: now + delay });
    if (after.state === 'failed') {
      this.#failAll(error.code, `signaling failed: ${error.message}`);
    } else {
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.#transition({ type: 'retry' });
        void this.#try();
      }, delay);
    }
    // Whatever is left of this connection goes: the next try starts a fresh one, which Nginx may send
    // to another instance. (Closing re-enters through 'disconnect', which the retry timer makes a no-op.)
    this.#socket?.io.engine?.close();
  }

  #startHeartbeat(intervalMs: number): void {
    this.#stopHeartbeat();
    if (this.#opts.heartbeat === false || !(intervalMs > 0)) return;
    this.#heartbeatTimer = setInterval(() => {
      if (!this.#ready()) return;
      const socket = this.#socket!;
      // Heartbeats are not queued or resent: one that goes unanswered means the link is dead.
      socket
        .timeout(Math.min(intervalMs, this.#opts.ackTimeoutMs ?? 10_000))
        // lastSeq: a cumulative ack, so the server keeps less to replay.
        .emit('heartbeat', { lastSeq: this.#lastSeq }, (err: Error | null) => {
          if (err && this.#socket === socket) this.dropTransport('HEARTBEAT_TIMEOUT');
        });
    }, intervalMs);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
  }

  #clearTimers(): void {
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#tryTimer);
    clearTimeout(this.#shutdownTimer);
    this.#retryTimer = this.#tryTimer = this.#shutdownTimer = undefined;
    this.#stopHeartbeat();
  }

  #listenToNetwork(on: boolean): void {
    const w = globalThis as {
      addEventListener?: (t: string, l: () => void) => void;
      removeEventListener?: (t: string, l: () => void) => void;
    };
    if (typeof w.addEventListener !== 'function' || typeof w.removeEventListener !== 'function') return;
    w.removeEventListener('online', this.#onOnline);
    w.removeEventListener('offline', this.#onOffline);
    if (on) {
      w.addEventListener('online', this.#onOnline);
      w.addEventListener('offline', this.#onOffline);
    }
  }
}
