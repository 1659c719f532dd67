// One device's part in its calls, shaped like LiveKit's participant: what a socket may do to a call
// (offer, accept, end, relay) and the call it carries, kept in `socket.data.callId` (set when the device
// places or answers a call or resumes one, cleared when it hears the end). This file is the only writer of
// that field; the rules themselves stay in @voip/call-state, the Redis state in the device registry.
import type { Static } from '@sinclair/typebox';
import type { TransitionResult } from '@voip/call-state/call-store';
import type { CallEvent } from '@voip/call-state/transitions';
import type { ClientEventName, ClientEventSchemas, ServerEventPayload } from '@voip/contracts/socket';
import type { Signaling } from '../realtime/context.js';
import type { SignalingSocket } from '../realtime/types.js';
import type { RelayEvent } from './relay.js';

export type AckBody =
  | { ok: true; [k: string]: unknown }
  | { ok: false; error: { code: string; message: string } };
export type Payload<K extends ClientEventName> = Static<(typeof ClientEventSchemas)[K]>;

export const ok = (extra: Record<string, unknown> = {}): AckBody => ({ ok: true, ...extra });
export const fail = (code: string, message: string): AckBody => ({ ok: false, error: { code, message } });

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

const relayed: { [E in RelayEvent]: (p: Payload<E>) => ServerEventPayload<E> & { callId: string } } = {
  'ice-candidate': (p) => ({ callId: p.callId, candidate: candidateOf(p.candidate) }),
  renegotiate: (p) => ({ callId: p.callId, description: descriptionOf(p.description) }),
};

function transitionFailure(t: Extract<TransitionResult, { ok: false }>): AckBody {
  return fail(t.code === 'NOT_FOUND' ? 'CALL_NOT_FOUND' : t.code, t.message);
}

export interface CallSession {
  /** call-user: attach this device and its offer to a created call, ring the callee's devices. */
  offer(p: Payload<'call-user'>): Promise<AckBody>;
  /** accept-call: this device answers; the caller gets the answer, the callee's other devices stop ringing. */
  accept(p: Payload<'accept-call'>): Promise<AckBody>;
  /** reject-call / end-call: ends the call on this participant's behalf (call-state decides by role). */
  end(callId: string, event: CallEvent): Promise<AckBody>;
  /** ice-candidate / renegotiate to the peer device. */
  relay<E extends RelayEvent>(event: E, p: Payload<E>): Promise<AckBody>;
  /** The device carries callId again (a resume found it live). */
  resume(callId: string): void;
  /** The device heard how callId ended: it carries nothing now (its record follows in the socket's queue). */
  ended(callId: string): void;
}

/** The session of one socket; cheap to make: its state is `socket.data.callId`. */
export function callSession(ctx: Signaling, socket: SignalingSocket): CallSession {
  const d = socket.data;
  const carry = async (callId: string) => {
    d.callId = callId;
    await ctx.registry.setCall(d, callId);
  };

  return {
    async offer(p) {
      const offer = descriptionOf(p.offer);
      const r = await ctx.calls.recordOffer(p.callId, { byUserId: d.userId, clientId: d.clientId, offer });
      if (!r.ok) return fail(r.code === 'NOT_FOUND' ? 'CALL_NOT_FOUND' : r.code, r.message);
      const call = r.call;
      await carry(call.callId);
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

    async accept(p) {
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
        await carry(p.callId);
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

    async end(callId, event) {
      const t = await ctx.calls.transition(callId, event, { byUserId: d.userId, clientId: d.clientId });
      if (!t.ok) return transitionFailure(t);
      if (t.changed)
        await Promise.all([ctx.presence.update(t.call.callerId), ctx.presence.update(t.call.calleeId)]);
      return ok();
    },

    async relay(event, p) {
      const r = await ctx.relay.relay(d, event, relayed[event](p));
      return r.ok ? ok() : fail(r.code, r.message);
    },

    resume(callId) {
      d.callId = callId;
    },

    ended(callId) {
      if (d.callId !== callId) return;
      d.callId = null;
      void ctx.enqueue(socket, () => ctx.registry.setCall(d, null));
    },
  };
}
