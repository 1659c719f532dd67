// A finished call as each participant's history item (the `call` entries of the sync feed), from the
// `call.ended` stream event: the caller sees an outgoing call to the callee, the callee an incoming one.
import type { BusEventData } from '@voip/contracts/bus-events';
import type { HistoryItem } from '@voip/contracts/calls';

export type CallEnded = BusEventData<'call.ended'>;

export function historyItemFor(call: CallEnded, participantId: string): HistoryItem | null {
  const outgoing = participantId === call.callerId;
  if (!outgoing && participantId !== call.calleeId) return null;
  return {
    callId: call.callId,
    direction: outgoing ? 'outgoing' : 'incoming',
    peerId: outgoing ? call.calleeId : call.callerId,
    media: call.media,
    outcome: call.outcome,
    startedAt: call.createdAt,
    answeredAt: call.answeredAt,
    endedAt: call.endedAt,
    durationMs: call.durationMs,
    endReason: call.endReason,
  };
}
