// The only code that talks to Janus: its HTTP API (the plain-HTTP transport of infra/janus), with the
// api_secret on every request. One JanusSession per recorded call: it long-polls its session's events
// (which also keeps the session alive) and resolves each asynchronous plugin request when the event with
// its transaction arrives. Any failure to reach Janus is a JanusUnavailableError.
import { randomBytes } from 'node:crypto';

export class JanusUnavailableError extends Error {
  override name = 'JanusUnavailableError';
}

/** Janus answered, with an error (its own, or the plugin's). */
export class JanusRequestError extends Error {
  override name = 'JanusRequestError';
  constructor(
    message: string,
    readonly code: number | undefined,
  ) {
    super(message);
  }
}

export interface Jsep {
  type: 'offer' | 'answer';
  sdp: string;
}

interface JanusMessage {
  janus: string;
  transaction?: string;
  sender?: number;
  session_id?: number;
  data?: { id?: number };
  error?: { code: number; reason: string };
  plugindata?: { plugin: string; data: Record<string, unknown> };
  jsep?: Jsep;
}

export interface PluginReply {
  data: Record<string, unknown>;
  jsep?: Jsep;
}

export interface JanusClientOptions {
  url: string;
  apiSecret: string;
  timeoutMs: number;
  log: { warn(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

const transaction = () => randomBytes(9).toString('base64url');

export function createJanusClient(opts: JanusClientOptions) {
  const base = opts.url.replace(/\/$/, '');

  async function request(path: string, body: Record<string, unknown>, timeoutMs = opts.timeoutMs) {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...body, apisecret: opts.apiSecret }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new JanusUnavailableError(`janus not reachable: ${(err as Error).message}`);
    }
    if (!res.ok) throw new JanusUnavailableError(`janus answered HTTP ${res.status}`);
    const msg = (await res.json().catch(() => null)) as JanusMessage | null;
    if (!msg) throw new JanusUnavailableError('janus answered something that is not JSON');
    if (msg.janus === 'error')
      throw new JanusRequestError(msg.error?.reason ?? 'janus error', msg.error?.code);
    return msg;
  }

  /** `info`: Janus answers (the probe). */
  async function info(timeoutMs = opts.timeoutMs): Promise<void> {
    await request('', { janus: 'info', transaction: transaction() }, timeoutMs);
  }

  async function createSession(onLost: (err: Error) => void): Promise<JanusSession> {
    const created = await request('', { janus: 'create', transaction: transaction() });
    const id = created.data?.id;
    if (!id) throw new JanusUnavailableError('janus created no session');
    return openSession(id, onLost);
  }

  function openSession(id: number, onLost: (err: Error) => void): JanusSession {
    const waiting = new Map<string, { resolve(r: PluginReply): void; reject(e: Error): void }>();
    let closed = false;
    const poller = new AbortController();

    const failAll = (err: Error) => {
      for (const w of waiting.values()) w.reject(err);
      waiting.clear();
    };

    const dispatch = (msg: JanusMessage) => {
      if (msg.janus === 'keepalive') return;
      const w = msg.transaction ? waiting.get(msg.transaction) : undefined;
      if (msg.janus === 'event' && w) {
        waiting.delete(msg.transaction!);
        const data = msg.plugindata?.data ?? {};
        if (typeof data.error === 'string')
          w.reject(new JanusRequestError(data.error, data.error_code as number));
        else w.resolve({ data, ...(msg.jsep ? { jsep: msg.jsep } : {}) });
        return;
      }
      opts.log.debug({ janus: msg.janus, sender: msg.sender }, 'janus event');
    };

    // Long-poll: Janus holds each GET up to 30 s (then a keepalive), which also keeps the session alive.
    void (async () => {
      let failures = 0;
      while (!closed) {
        try {
          const res = await fetch(
            `${base}/${id}?maxev=10&rid=${Date.now()}&apisecret=${encodeURIComponent(opts.apiSecret)}`,
            { signal: AbortSignal.any([poller.signal, AbortSignal.timeout(45_000)]) },
          );
          if (!res.ok) throw new JanusUnavailableError(`janus poll HTTP ${res.status}`);
          const body = (await res.json()) as JanusMessage | JanusMessage[];
          if (!Array.isArray(body) && body.janus === 'error')
            throw new JanusUnavailableError(`janus session ${id} is gone: ${body.error?.reason}`);
          for (const m of Array.isArray(body) ? body : [body]) dispatch(m);
          failures = 0;
        } catch (err) {
          if (closed) return;
          // One failed poll can be a blip; two in a row (or a session Janus no longer knows) is a loss.
          failures++;
          if (failures >= 2 || err instanceof JanusUnavailableError) {
            closed = true;
            const lost =
              err instanceof JanusUnavailableError ? err : new JanusUnavailableError((err as Error).message);
            failAll(lost);
            onLost(lost);
            return;
          }
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    })();

    const session: JanusSession = {
      id,
      async attach(plugin: string): Promise<number> {
        const msg = await request(`/${id}`, { janus: 'attach', plugin, transaction: transaction() });
        if (!msg.data?.id) throw new JanusUnavailableError('janus attached no handle');
        return msg.data.id;
      },
      /** A synchronous plugin request (create, destroy, list…): the answer comes with the response. */
      async send(handle: number, body: Record<string, unknown>): Promise<Record<string, unknown>> {
        const msg = await request(`/${id}/${handle}`, { janus: 'message', body, transaction: transaction() });
        const data = msg.plugindata?.data ?? {};
        if (typeof data.error === 'string')
          throw new JanusRequestError(data.error, data.error_code as number);
        return data;
      },
      /** An asynchronous plugin request (join, configure, start): resolves with its event (and JSEP). */
      async sendAsync(handle: number, body: Record<string, unknown>, jsep?: Jsep): Promise<PluginReply> {
        if (closed) throw new JanusUnavailableError('janus session is closed');
        const tx = transaction();
        const reply = new Promise<PluginReply>((resolve, reject) => {
          waiting.set(tx, { resolve, reject });
        });
        // Janus may send the request's event on the long poll before the POST's own answer is back: a
        // rejection then must not count as unhandled (it would take the process down); it is awaited below.
        reply.catch(() => {});
        const timer = setTimeout(() => {
          const w = waiting.get(tx);
          waiting.delete(tx);
          w?.reject(new JanusUnavailableError('janus did not answer the request in time'));
        }, opts.timeoutMs * 2);
        try {
          const msg = await request(`/${id}/${handle}`, {
            janus: 'message',
            body,
            transaction: tx,
            ...(jsep ? { jsep } : {}),
          });
          // Some requests answer at once (`success` with plugindata) instead of ack + event.
          if (msg.janus === 'success') {
            waiting.delete(tx);
            const data = msg.plugindata?.data ?? {};
            if (typeof data.error === 'string')
              throw new JanusRequestError(data.error, data.error_code as number);
            return { data, ...(msg.jsep ? { jsep: msg.jsep } : {}) };
          }
          return await reply;
        } catch (err) {
          waiting.delete(tx);
          throw err;
        } finally {
          clearTimeout(timer);
        }
      },
      async detach(handle: number): Promise<void> {
        await request(`/${id}/${handle}`, { janus: 'detach', transaction: transaction() }).catch(() => {});
      },
      async destroy(): Promise<void> {
        closed = true;
        poller.abort();
        failAll(new JanusUnavailableError('janus session destroyed'));
        await request(`/${id}`, { janus: 'destroy', transaction: transaction() }).catch(() => {});
      },
      get closed() {
        return closed;
      },
    };
    return session;
  }

  return { info, createSession };
}

export interface JanusSession {
  readonly id: number;
  attach(plugin: string): Promise<number>;
  send(handle: number, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  sendAsync(handle: number, body: Record<string, unknown>, jsep?: Jsep): Promise<PluginReply>;
  detach(handle: number): Promise<void>;
  destroy(): Promise<void>;
  readonly closed: boolean;
}

export type JanusClient = ReturnType<typeof createJanusClient>;
