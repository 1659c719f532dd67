// Which device of each participant is "in" a call, and what happens to a call when that device drops,
// comes back, or is lost for good.
import { deviceOf, peerOf } from '@voip/call-state/call-fields';
import type { Signaling } from '../realtime/context.js';

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
