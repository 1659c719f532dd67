// How one participant sees an ended call in their history: the call service's GET /api/calls and the
// user service's sync feed both show history lines, and both must say the same thing. Pure, no I/O.
import type { CallOutcome, EndReason } from '@voip/contracts/calls';

export type ViewerRole = 'caller' | 'callee';

/** The viewer's side of the call; anyone who is not the caller is taken for the callee. */
export const viewerRole = (call: { callerId: string }, viewerId: string): ViewerRole =>
  call.callerId === viewerId ? 'caller' : 'callee';

export const directionFor = (role: ViewerRole): 'outgoing' | 'incoming' =>
  role === 'caller' ? 'outgoing' : 'incoming';

export interface EndedCallFacts {
  answered: boolean;
  endReason: EndReason | null;
  /** Set when the call lost a glare to another call between the same two people. */
  replacedBy?: string | null;
}

/**
 * The outcome from one side. Answered calls are `answered` however they ended. Unanswered:
 *   no-answer              → missed (both sides: nobody picked up)
 *   cancelled / hangup     → caller: cancelled; callee: missed (the phone rang and was not picked up)
 *   glare (replacedBy)     → cancelled for both (the surviving call connects them, nothing was missed)
 *   rejected / busy        → rejected / busy
 *   connection-lost/failed → failed (also an ended call with no reason recorded)
 * The `outcome` on the `call.ended` event is the side-neutral one (`transitions.outcomeFor`): it says
 * `cancelled` where the callee's history must say `missed`, so history never shows it as is.
 */
export function historyOutcomeFor(role: ViewerRole, call: EndedCallFacts): CallOutcome {
  if (call.answered) return 'answered';
  switch (call.endReason) {
    case 'no-answer':
      return 'missed';
    case 'cancelled':
    case 'hangup':
      if (call.replacedBy) return 'cancelled';
      return role === 'callee' ? 'missed' : 'cancelled';
    case 'rejected':
      return 'rejected';
    case 'busy':
      return 'busy';
    default:
      return 'failed';
  }
}
