// The client → server events of API.md. Each one is rate-limited, validated against its schema from
// @voip/contracts, run after the socket's previous events (order matters: an answer before its ICE),
// and answered with an ack `{ok: true, ...}` or `{ok: false, error: {code, message}}`.
import type { Static } from '@sinclair/typebox';
import type { TransitionResult } from '@voip/call-state/call-store';
import type { CallEvent } from '@voip/call-state/transitions';
import { type ClientEventName, ClientEventSchemas } from '@voip/contracts/socket';
import { validator } from '@voip/contracts/validate';
import { activeCalls } from '../connections/connection-lifecycle.js';
import type { Signaling } from '../realtime/context.js';
import type { SignalingSocket } from '../realtime/types.js';
import { handleCallQuality } from './quality.js';

type AckBody = { ok: true; [k: string]: unknown } | { ok: false; error: { code: string; message: string } };
type Payload<K extends ClientEventName> = Static<(typeof ClientEventSchemas)[K]>;
type Handler<K extends ClientEventName> = (
  ctx: Signaling,
  socket: SignalingSocket,
  payload: Payload<K>,
) => Promise<AckBody>;

const ok = (extra: Record<string, unknown> = {}): AckBody => ({ ok: true, ...extra });
const fail = (code: string, message: string): AckBody => ({ ok: false, error: { code, message } });
const validators = Object.fromEntries(
  Object.entries(ClientEventSchemas).map(([k, s]) => [k, validator(s)]),
) as {
  [K in ClientEventName]: ReturnType<typeof validator<(typeof ClientEventSchemas)[K]>>;
};

// What reaches the peer (or is stored for it) is rebuilt from the validated fields, never the sender's
// object: the schemas are closed, and this keeps a relay from carrying whatever a sender adds even if one
// of them is opened by mistake.
type Description = Payload<'renegotiate'>['description'];
type Candidate = Payload<'ice-candidate'>['candidate'];
const descriptionOf = <D extends Description>(d: D): D => ({ type: d.type, sdp: d.sdp }) as D;
function candidateOf(c: Candidate): Candidate {
  if (c === null) return null;
  return {
    candidate: c.candidate,
    ...(c.sdpMid !== undefined ? { sdpMid: c.sdpMid } : {}),
    ...(c.sdpMLineIndex !== undefined ? { sdpMLineIndex: c.sdpMLineIndex } : {}),
    ...(c.usernameFragment !== undefined ? { usernameFragment: c.usernameFragment } : {}),
  };
}

function transitionFailure(t: Extract<TransitionResult, { ok: false }>): AckBody {
  return fail(t.code === 'NOT_FOUND' ? 'CALL_NOT_FOUND' : t.code, t.message);
}

/** Ends a call on this participant's behalf; both sides' presence follows when it really ended now. */
async function endBy(
  ctx: Signaling,
  socket: SignalingSocket,
  callId: string,
  event: CallEvent,
): Promise<AckBody> {
  const { userId, clientId } = socket.data;
  const t = await ctx.calls.transition(callId, event, { byUserId: userId, clientId });
  if (!t.ok) return transitionFailure(t);
  if (t.changed)
    await Promise.all([ctx.presence.update(t.call.callerId), ctx.presence.update(t.call.calleeId)]);
  return ok();
}

const handlers: { [K in ClientEventName]: Handler<K> } = {
  async 'call-user'(ctx, socket, p) {
    const d = socket.data;
    const offer = descriptionOf(p.offer);
    const r = await ctx.calls.recordOffer(p.callId, {
      byUserId: d.userId,
      clientId: d.clientId,
      offer,
    });
    if (!r.ok) return fail(r.code === 'NOT_FOUND' ? 'CALL_NOT_FOUND' : r.code, r.message);
    const call = r.call;
    activeCalls.set(socket, call.callId);
    await ctx.registry.setCall(d, call.callId);
    // Marked before the emit: a device that drops in between is marked without having it, which its
    // resume settles (offered again while ringing, told the end after), never the other way round.
    await ctx.registry.markOfferedToConnected(call.calleeId, call.callId);
    ctx.relay.toUser(call.calleeId, 'incoming-call', {
      callId: call.callId,
      from: { id: call.callerId, displayName: call.callerName || d.displayName, kind: call.callerKind },
      media: call.media,
      offer,
      expiresAt: call.expiresAt,
    });
    // "Ringing" once a callee device has it; with none connected (push wakes one), it comes when one
    // connects. Once per call: a retried call-user or a second device connecting does not repeat it.
    if (
      (await ctx.registry.hasConnectedClient(call.calleeId)) &&
      (await ctx.calls.claimRingingNotice(call.callId))
    )
      await ctx.relay.toDevice(d.userId, d.clientId, 'call-ringing', { callId: call.callId });
    await Promise.all([ctx.presence.update(d.userId, d.kind), ctx.presence.update(call.calleeId)]);
    return ok();
  },

  async 'accept-call'(ctx, socket, p) {
    const d = socket.data;
    const t = await ctx.calls.transition(
      p.callId,
      { type: 'accept' },
      { byUserId: d.userId, clientId: d.clientId },
    );
    if (!t.ok) return transitionFailure(t);
    if (t.changed) {
      if (t.call.answeredAt)
        ctx.metrics.callSetup.observe(
          Math.max(0, Date.parse(t.call.answeredAt) - Date.parse(t.call.createdAt)) / 1000,
        );
      activeCalls.set(socket, p.callId);
      await ctx.registry.setCall(d, p.callId);
      await ctx.relay.toDevice(t.call.callerId, t.call.callerClientId, 'call-accepted', {
        callId: p.callId,
        answer: descriptionOf(p.answer),
      });
      // Queued for a callee device that was offered the call and is away: it stops ringing on resume.
      await ctx.relay.toOtherDevices(d.userId, d.clientId, p.callId, 'call-answered-elsewhere', {
        callId: p.callId,
      });
      await ctx.registry.dropRingingCandidates(p.callId);
    }
    return ok();
  },

  'reject-call': (ctx, socket, p) =>
    endBy(ctx, socket, p.callId, { type: 'reject', reason: p.reason === 'busy' ? 'busy' : 'rejected' }),

  // One event covers every end: hanging up a ringing call is a cancel from the caller and a decline
  // from the callee (call-state decides by role), so `reason` only documents the client's intent.
  'end-call': (ctx, socket, p) => endBy(ctx, socket, p.callId, { type: 'hangup' }),

  async 'ice-candidate'(ctx, socket, p) {
    const r = await ctx.relay.relay(socket.data, 'ice-candidate', {
      callId: p.callId,
      candidate: candidateOf(p.candidate),
    });
    return r.ok ? ok() : fail(r.code, r.message);
  },

  async renegotiate(ctx, socket, p) {
    const r = await ctx.relay.relay(socket.data, 'renegotiate', {
      callId: p.callId,
      description: descriptionOf(p.description),
    });
    return r.ok ? ok() : fail(r.code, r.message);
  },

  async heartbeat(ctx, socket, p) {
    // A numbered device's cumulative ack keeps its replay buffer short on a long call.
    if (p.lastSeq !== undefined && socket.data.lastSeq !== null)
      await ctx.registry.ack(socket.data, p.lastSeq);
    return ok({ serverTime: new Date().toISOString() });
  },

  'call-quality': handleCallQuality,
};

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
  const reject = (reply: (a: AckBody) => void, code: string, message: string) => {
    metrics.rejected.inc({ reason: code });
    reply(fail(code, message));
  };

  for (const name of Object.keys(handlers) as ClientEventName[]) {
    const handler = handlers[name] as Handler<ClientEventName>;
    const check = validators[name];
    (socket.on as (ev: string, fn: (...args: unknown[]) => void) => void)(name, (...args: unknown[]) => {
      const last = args[args.length - 1];
      const reply = typeof last === 'function' ? (last as (a: AckBody) => void) : () => {};
      const payload = typeof args[0] === 'function' ? undefined : args[0];
      if (!takeToken(ctx, socket)) return reject(reply, 'RATE_LIMITED', 'too many events; slow down');
      if (!check.check(payload))
        return reject(reply, 'VALIDATION_FAILED', check.explain(payload) || 'invalid payload');
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
          res = await handler(ctx, socket, payload as Payload<ClientEventName>);
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
    });
  }

  // An unknown event costs a token like any other: a flood of made-up names is limited like known ones.
  socket.onAny((event: string, ...args: unknown[]) => {
    if (Object.hasOwn(handlers, event)) return;
    const last = args[args.length - 1];
    const reply = typeof last === 'function' ? (last as (a: AckBody) => void) : () => {};
    if (!takeToken(ctx, socket)) return reject(reply, 'RATE_LIMITED', 'too many events; slow down');
    reject(reply, 'BAD_REQUEST', `unknown event ${String(event).slice(0, 64)}`);
  });
}
