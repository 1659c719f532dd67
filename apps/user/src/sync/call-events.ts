// `call.ended` from the call stream becomes a `call` entry in both participants' sync feeds, once:
// a re-delivered event finds the entry already there and adds nothing.
import type { UserDomain } from '../domain.js';
import { type CallEnded, historyItemFor } from './call-history.js';

export async function recordCallEnded(domain: UserDomain, call: CallEnded): Promise<void> {
  for (const participantId of new Set([call.callerId, call.calleeId])) {
    const item = historyItemFor(call, participantId);
    if (!item) continue;
    if (await domain.changes.has(participantId, 'call', call.callId)) continue;
    await domain.changes.append(participantId, { entity: 'call', op: 'upsert', id: call.callId, data: item });
  }
}
