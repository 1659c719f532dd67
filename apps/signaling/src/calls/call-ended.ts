// How a call's end reaches devices: every instance hears `call.ended` on the bus (whoever ended the call:
// this or another instance, the call service, a wheel) and tells its own sockets of both users, so each
// device hears it exactly once; a device that was away is told on resume with the same payload.
import type { BusEventData } from '@voip/contracts/bus-events';
import type { EndReason } from '@voip/contracts/calls';
import type { ServerEventPayload } from '@voip/contracts/socket';
import type { Signaling } from '../realtime/context.js';
import { userRoom } from '../realtime/rooms.js';
import { callSession } from './call-session.js';

/** An ended call as the bus event or the call record has it. */
export interface EndedCall {
  callId: string;
  endReason: EndReason | null;
  durationMs: number | null;
  replacedBy?: string | null;
}

/** The one `call-ended` payload, live or on resume. */
export function callEndedPayload(call: EndedCall): ServerEventPayload<'call-ended'> {
  return {
    callId: call.callId,
    reason: call.endReason ?? 'failed',
    durationMs: call.durationMs ?? 0,
    ...(call.replacedBy ? { replacedBy: call.replacedBy } : {}),
  };
}

/** What this instance does with a `call.ended` event: tell its sockets, settle their sessions and offers. */
export function fanOutCallEnded(ctx: Signaling, d: BusEventData<'call.ended'>): void {
  const { io, local, registry } = ctx;
  if (!d.answeredAt && (d.endReason === 'rejected' || d.endReason === 'busy'))
    io.local.to(userRoom(d.callerId)).emit('call-rejected', { callId: d.callId, reason: d.endReason });
  io.local.to([userRoom(d.callerId), userRoom(d.calleeId)]).emit('call-ended', callEndedPayload(d));
  for (const s of [...local.byUser(d.callerId), ...local.byUser(d.calleeId)])
    callSession(ctx, s).ended(d.callId);
  // Callee devices that were only offered the call heard its end just now: nothing left for their resume.
  for (const s of local.byUser(d.calleeId))
    void ctx.enqueue(s, () => registry.clearOffered(s.data, d.callId));
}
