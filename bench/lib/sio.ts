// A minimal Socket.io client over a bare WebSocket (engine.io v4 + socket.io v5 wire format): open, ping →
// pong, CONNECT with auth, events with and without acks. A load generator holding thousands of sockets
// stays small this way (no socket.io-client manager, timers or reconnection per socket).
import WebSocket from 'ws';

// biome-ignore lint/suspicious/noExplicitAny: an event's payload is whatever the server sends; handlers narrow it
type Payload = any;

export interface SioClient {
  ws: WebSocket;
  /** The `sid` of the Socket.io connection. */
  id: string;
  emit(event: string, data: unknown): void;
  emitWithAck<T = unknown>(event: string, data: unknown, timeoutMs?: number): Promise<T>;
  on(event: string, fn: (data: Payload) => void): void;
  off(event: string): void;
  once<T = Payload>(event: string, timeoutMs?: number): Promise<T>;
  close(): void;
}

export interface ConnectOpts {
  auth?: Record<string, unknown>;
  /** Source address (127.0.0.x), so one generator does not run out of ports to one server. */
  localAddress?: string;
  timeoutMs?: number;
  /** Engine.io path (default /socket.io/). */
  path?: string;
}

export function connectSio(baseUrl: string, o: ConnectOpts = {}): Promise<SioClient> {
  const url = `${baseUrl.replace(/^http/, 'ws')}${o.path ?? '/socket.io/'}?EIO=4&transport=websocket`;
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    ...(o.localAddress ? { localAddress: o.localAddress } : {}),
  });
  const handlers = new Map<string, (data: Payload) => void>();
  const acks = new Map<number, (data: Payload) => void>();
  const backlog = new Map<string, Payload[]>();
  let nextAck = 1;
  let client: SioClient;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error('connect timed out'));
    }, o.timeoutMs ?? 20_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      reject(e);
    };
    ws.on('error', fail);
    ws.on('unexpected-response', (_req, res) => {
      ws.terminate();
      fail(new Error(`HTTP ${res.statusCode}`));
    });
    ws.on('message', (raw: Buffer) => {
      const s = raw.toString();
      const t = s.charCodeAt(0);
      if (t === 50 /* 2 ping */) return ws.send('3');
      if (t === 48 /* 0 open */) {
        ws.send(o.auth ? `40${JSON.stringify(o.auth)}` : '40');
        return;
      }
      if (t !== 52 /* 4 message */) return;
      const k = s.charCodeAt(1);
      if (k === 50 /* 2 event */) {
        const arr = JSON.parse(s.slice(2)) as [string, unknown];
        const h = handlers.get(arr[0]);
        if (h) h(arr[1]);
        else {
          // Frames that arrived in one read are dispatched before the caller's await resumes: kept (up to
          // 1000 per event) until a handler is set, so nothing sent right after CONNECT is missed.
          const b = backlog.get(arr[0]) ?? [];
          if (b.length < 1000) b.push(arr[1]);
          backlog.set(arr[0], b);
        }
      } else if (k === 51 /* 3 ack */) {
        const b = s.indexOf('[');
        const id = Number(s.slice(2, b));
        const f = acks.get(id);
        if (f) {
          acks.delete(id);
          f((JSON.parse(s.slice(b)) as unknown[])[0]);
        }
      } else if (k === 48 /* 0 connect */) {
        clearTimeout(timer);
        ws.off('error', fail);
        ws.on('error', () => {});
        client.id = (JSON.parse(s.slice(2)) as { sid: string }).sid;
        resolve(client);
      } else if (k === 52 /* 4 connect_error */) {
        ws.close();
        fail(new Error(`connect_error ${s.slice(2)}`));
      }
    });
    client = {
      ws,
      id: '',
      emit(event, data) {
        if (ws.readyState === 1) ws.send(`42${JSON.stringify([event, data])}`);
      },
      emitWithAck(event, data, timeoutMs = 20_000) {
        return new Promise((res, rej) => {
          const id = nextAck++;
          const t = setTimeout(() => {
            acks.delete(id);
            rej(new Error(`${event}: no ack in ${timeoutMs} ms`));
          }, timeoutMs);
          acks.set(id, (v) => {
            clearTimeout(t);
            res(v);
          });
          ws.send(`42${id}${JSON.stringify([event, data])}`);
        });
      },
      on(event, fn) {
        handlers.set(event, fn);
        const b = backlog.get(event);
        if (b) {
          backlog.delete(event);
          for (const d of b) fn(d);
        }
      },
      off(event) {
        handlers.delete(event);
      },
      once(event, timeoutMs = 20_000) {
        return new Promise((res, rej) => {
          const b = backlog.get(event);
          if (b?.length) {
            res(b.shift());
            return;
          }
          const t = setTimeout(() => rej(new Error(`no ${event} in ${timeoutMs} ms`)), timeoutMs);
          handlers.set(event, (d) => {
            clearTimeout(t);
            handlers.delete(event);
            res(d);
          });
        });
      },
      close() {
        ws.close();
      },
    };
  });
}

/** What our server answers to an event sent with an ack. */
export interface Ack {
  ok: boolean;
  error?: { code?: string; message?: string };
}

/** The server answered an event with `ok: false`: its `error.code` and `error.message` in the message. */
export class AckRefused extends Error {
  readonly event: string;
  readonly ack: Ack;
  constructor(event: string, ack: Ack) {
    super(`${event}: ${ack.error?.code} ${ack.error?.message}`);
    this.event = event;
    this.ack = ack;
  }
}

/** Emits `event` with an ack and returns the answer; throws `AckRefused` unless the server said ok. */
export async function emitOk(s: SioClient, event: string, data: unknown, timeoutMs?: number): Promise<Ack> {
  const ack = await s.emitWithAck<Ack>(event, data, timeoutMs);
  if (!ack.ok) throw new AckRefused(event, ack);
  return ack;
}

/** Source addresses 127.0.0.2 … 127.0.0.(1+n), round robin: ~28,000 ports each towards one server port. */
export function sourceAddresses(n = Number(process.env.BENCH_SOURCE_ADDRESSES ?? 8)): () => string {
  let i = 0;
  return () => `127.0.0.${2 + (i++ % n)}`;
}
