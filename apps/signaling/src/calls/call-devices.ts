// Which device of each participant is "in" a call, and what happens to a call when that device drops,
// comes back, or is lost for good.
import type { CallRecord, LiveCallDevices } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import type { Signaling } from '../realtime/context.js';

/** The device of userId that carries the call: the caller's offering device, the callee's answering one. */
export function deviceOf(call: CallRecord, userId: string): string | null {
  if (userId === call.callerId) return call.callerClientId;
  if (userId === call.calleeId) return call.answeredByClientId;
  return null;
}

/** The other participant and its device (null while ringing on the callee's side: all its devices). */
export function peerOf(call: CallRecord, userId: string): { userId: string; clientId: string | null } {
  return userId === call.callerId
    ? { userId: call.calleeId, clientId: call.answeredByClientId }
    : { userId: call.callerId, clientId: call.callerClientId };
}

type PeerEvent = 'peer-reconnecting' | 'peer-reconnected';

/** Tells the peer device that this participant's connection dropped or came back (events in this order). */
export async function notifyPeer(
  ctx: Signaling,
  callId: string,
  userId: string,
  clientId: string,
  ...events: PeerEvent[]
): Promise<void> {
  const call = await ctx.calls.get(callId);
  if (!call || call.state === 'ended' || deviceOf(call, userId) !== clientId) return;
  const peer = peerOf(call, userId);
  for (const event of events) await ctx.relay.toDevice(peer.userId, peer.clientId, event, { callId });
}

/** The device carrying a call is gone for good: the call ends with connection-lost (once, whoever gets here first). */
export async function endCallOfLostDevice(
  ctx: Signaling,
  callId: string,
  userId: string,
  clientId: string,
): Promise<void> {
  const call = await ctx.calls.get(callId);
  if (!call || call.state === 'ended' || deviceOf(call, userId) !== clientId) return;
  const t = await ctx.calls.transition(
    callId,
    { type: 'fail', reason: 'connection-lost' },
    { endedBy: userId },
  );
  if (t.ok && t.changed) {
    ctx.app.log.info({ callId, userId, clientId }, 'call ended: connection lost');
    await Promise.all([ctx.presence.update(call.callerId), ctx.presence.update(call.calleeId)]);
  }
}

/**
 * For each accepted call (in order): true when neither participant's device carries it any more, i.e. no
 * device record (connected or reconnecting) names the call. One pipelined read for the whole batch.
 */
export async function unattendedCalls(ctx: Signaling, calls: LiveCallDevices[]): Promise<boolean[]> {
  const pipe = ctx.redis.pipeline();
  const slots: number[][] = [];
  let n = 0;
  for (const c of calls) {
    const mine: number[] = [];
    for (const [userId, clientId] of [
      [c.callerId, c.callerClientId],
      [c.calleeId, c.answeredByClientId],
    ] as const) {
      if (!clientId) continue;
      pipe.hget(keys.client(userId, clientId), 'callId');
      mine.push(n++);
    }
    slots.push(mine);
  }
  const rows = n > 0 ? ((await pipe.exec()) ?? []) : [];
  return calls.map((c, i) =>
    (slots[i] ?? []).every((k) => {
      const [err, callId] = rows[k] ?? [];
      // A failed read counts as "carried": never end a call on doubt.
      return !err && callId !== c.callId;
    }),
  );
}
