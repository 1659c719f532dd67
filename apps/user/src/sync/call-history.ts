// A finished call as each participant's history item (the `call` entries of the sync feed), from the
// `call.ended` stream event: the caller sees an outgoing call to the callee, the callee an incoming one,
// each with the outcome from their side (the event's own `outcome` is side-neutral), by the same rules
// GET /api/calls uses.
import { directionFor, historyOutcomeFor, viewerRole } from '@voip/call-state/history-outcome';
import type { BusEventData } from '@voip/contracts/bus-events';
import type { HistoryItem } from '@voip/contracts/calls';

export type CallEnded = BusEventData<'call.ended'>;

export function historyItemFor(call: CallEnded, participantId: string): HistoryItem | null {
  if (participantId !== call.callerId && participantId !== call.calleeId) return null;
  const role = viewerRole(call, participantId);
  return {
    callId: call.callId,
    direction: directionFor(role),
    peerId: role === 'caller' ? call.calleeId : call.callerId,
    media: call.media,
    outcome: historyOutcomeFor(role, {
      answered: call.answeredAt !== null,
      endReason: call.endReason,
      replacedBy: call.replacedBy ?? null,
    }),
    startedAt: call.createdAt,
    answeredAt: call.answeredAt,
    endedAt: call.endedAt,
    durationMs: call.durationMs,
    endReason: call.endReason,
  };
}
