// `call.ended` from the call stream becomes a `call` entry in both participants' sync feeds, once:
// a re-delivered event, even one racing the first delivery on another instance, adds nothing
// (`appendOnce`: the database's unique key decides).
import type { UserDomain } from '../domain.js';
import { type CallEnded, historyItemFor } from './call-history.js';

export async function recordCallEnded(domain: UserDomain, call: CallEnded): Promise<void> {
  for (const participantId of new Set([call.callerId, call.calleeId])) {
    const item = historyItemFor(call, participantId);
    if (!item) continue;
    await domain.changes.appendOnce(participantId, {
      entity: 'call',
      op: 'upsert',
      id: call.callId,
      data: item,
    });
  }
}
