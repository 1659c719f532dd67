// The client → server events of API.md, as one typed table from event name to what the socket's call
// session does with it. Each event is rate-limited, validated against its schema from @voip/contracts, run
// after the socket's previous events (order matters: an answer before its ICE), and answered with an ack
// `{ok: true, ...}` or `{ok: false, error: {code, message}}`.
import { type ClientEventName, ClientEventSchemas } from '@voip/contracts/socket';
import { validator } from '@voip/contracts/validate';
import type { Signaling } from '../realtime/context.js';
import type { SignalingSocket } from '../realtime/types.js';
import { type AckBody, type CallSession, callSession, fail, ok, type Payload } from './call-session.js';
import { handleCallQuality } from './quality.js';

interface Handling {
  ctx: Signaling;
  socket: SignalingSocket;
  session: CallSession;
}
type Handlers = { [K in ClientEventName]: (h: Handling, payload: Payload<K>) => Promise<AckBody> };

const validators: { [K in ClientEventName]: ReturnType<typeof validator<(typeof ClientEventSchemas)[K]>> } = {
  'call-user': validator(ClientEventSchemas['call-user']),
  'accept-call': validator(ClientEventSchemas['accept-call']),
  'reject-call': validator(ClientEventSchemas['reject-call']),
  'ice-candidate': validator(ClientEventSchemas['ice-candidate']),
  renegotiate: validator(ClientEventSchemas.renegotiate),
  'end-call': validator(ClientEventSchemas['end-call']),
  heartbeat: validator(ClientEventSchemas.heartbeat),
  'call-quality': validator(ClientEventSchemas['call-quality']),
};

const handlers: Handlers = {
  'call-user': ({ session }, p) => session.offer(p),
  'accept-call': ({ session }, p) => session.accept(p),
  'reject-call': ({ session }, p) =>
    session.end(p.callId, { type: 'reject', reason: p.reason === 'busy' ? 'busy' : 'rejected' }),
  // One event covers every end: hanging up a ringing call is a cancel from the caller and a decline
  // from the callee (call-state decides by role), so `reason` only documents the client's intent.
  'end-call': ({ session }, p) => session.end(p.callId, { type: 'hangup' }),
  'ice-candidate': ({ session }, p) => session.relay('ice-candidate', p),
  renegotiate: ({ session }, p) => session.relay('renegotiate', p),
  async heartbeat({ ctx, socket }, p) {
    // A numbered device's cumulative ack keeps its replay buffer short on a long call.
    if (p.lastSeq !== undefined && socket.data.lastSeq !== null)
      await ctx.registry.ack(socket.data, p.lastSeq);
    return ok({ serverTime: new Date().toISOString() });
  },
  'call-quality': ({ ctx, socket }, p) => handleCallQuality(ctx, socket, p),
};

const isClientEvent = (event: string): event is ClientEventName => Object.hasOwn(handlers, event);

/** Validates for the named event and runs its handler: the name types the payload end to end. */
function checked<K extends ClientEventName>(
  name: K,
  payload: unknown,
): { ok: true; run: (h: Handling) => Promise<AckBody> } | { ok: false; explain: string } {
  const check = validators[name];
  if (!check.check(payload)) return { ok: false, explain: check.explain(payload) || 'invalid payload' };
  const handler: Handlers[K] = handlers[name];
  return { ok: true, run: (h) => handler(h, payload) };
}

/** The bytes a validated payload holds, near enough: its strings and keys (the schemas bound the rest). */
function weightOf(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null || depth > 4) return 8;
  let n = 0;
  for (const [k, v] of Object.entries(value)) n += k.length + weightOf(v, depth + 1);
  return n;
}

/** Token bucket per socket, refilled on use: no timer per socket. */
function takeToken(ctx: Signaling, socket: SignalingSocket): boolean {
  const d = socket.data;
  const now = Date.now();
  const { EVENTS_PER_SECOND: rate, EVENT_BURST: burst } = ctx.config;
  d.tokens = Math.min(burst, d.tokens + ((now - d.tokensAtMs) * rate) / 1000);
  d.tokensAtMs = now;
  if (d.tokens < 1) return false;
  d.tokens -= 1;
  return true;
}

export function installCallHandlers(ctx: Signaling, socket: SignalingSocket): void {
  const { metrics, app } = ctx;
  const session = callSession(ctx, socket);
  const reject = (reply: (a: AckBody) => void, code: string, message: string) => {
    metrics.rejected.inc({ reason: code });
    reply(fail(code, message));
  };

  // One listener for every event, known or not: an unknown one costs a token like any other, so a flood
  // of made-up names is limited like known ones.
  // A listener that throws would be an uncaught exception, i.e. the whole instance down: whatever a
  // client sends, the worst it gets is an INTERNAL ack.
  socket.onAny((event: string, ...args: unknown[]) => {
    const last = args[args.length - 1];
    const reply = (body: AckBody) => {
      if (typeof last === 'function') last(body);
    };
    try {
      admit(event, args, reply);
    } catch (err) {
      app.log.error(
        { err, event: String(event).slice(0, 64), userId: socket.data.userId },
        'socket event refused by an error',
      );
      reply(fail('INTERNAL', 'something went wrong; retry'));
    }
  });

  function admit(event: string, args: unknown[], reply: (body: AckBody) => void) {
    if (!takeToken(ctx, socket)) return reject(reply, 'RATE_LIMITED', 'too many events; slow down');
    if (!isClientEvent(event))
      return reject(reply, 'BAD_REQUEST', `unknown event ${String(event).slice(0, 64)}`);
    const name = event;
    const payload = typeof args[0] === 'function' ? undefined : args[0];
    const valid = checked(name, payload);
    if (!valid.ok) return reject(reply, 'VALIDATION_FAILED', valid.explain);
    socket.data.lastSeenMs = Date.now();
    // The socket's events run one after another: while Redis is slow they wait, bounded.
    const waiting = socket.data.waiting;
    const bytes = weightOf(payload);
    if (
      waiting.count >= ctx.config.MAX_WAITING_EVENTS ||
      waiting.bytes + bytes > ctx.config.MAX_WAITING_EVENT_BYTES
    )
      return reject(reply, 'RATE_LIMITED', 'too many events waiting; slow down');
    waiting.count += 1;
    waiting.bytes += bytes;
    void ctx.enqueue(socket, async () => {
      let res: AckBody;
      try {
        res = await valid.run({ ctx, socket, session });
      } catch (err) {
        app.log.error({ err, event: name, userId: socket.data.userId }, 'socket event failed');
        res = fail('INTERNAL', 'something went wrong; retry');
      } finally {
        waiting.count -= 1;
        waiting.bytes -= bytes;
      }
      if (res.ok) metrics.messages.inc({ event: name });
      else metrics.rejected.inc({ reason: res.error.code });
      reply(res);
    });
  }
}
