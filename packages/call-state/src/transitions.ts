// The call state machine as a pure function: ringing → accepted → ended, or ringing → ended.
// Every transition applies once; a repeat of the transition that already happened is idempotent.
import type { CallState, EndReason } from '@voip/contracts/calls';

export type CallEvent =
  | { type: 'accept' }
  | { type: 'reject' }
  | { type: 'cancel' }
  | { type: 'timeout' }
  | { type: 'hangup' }
  | { type: 'fail'; reason: EndReason };

export type Transition =
  | { ok: true; next: CallState; changed: boolean; endReason?: EndReason }
  | { ok: false; code: 'INVALID_STATE'; message: string };

const endReasonFor = (e: CallEvent): EndReason => {
  switch (e.type) {
    case 'reject':
      return 'rejected';
    case 'cancel':
      return 'cancelled';
    case 'timeout':
      return 'no-answer';
    case 'hangup':
      return 'hangup';
    case 'fail':
      return e.reason;
    case 'accept':
      return 'failed';
  }
};

export function resolveCallTransition(state: CallState, event: CallEvent): Transition {
  if (state === 'ringing') {
    if (event.type === 'accept') return { ok: true, next: 'accepted', changed: true };
    if (event.type === 'hangup') return { ok: true, next: 'ended', changed: true, endReason: 'cancelled' };
    return { ok: true, next: 'ended', changed: true, endReason: endReasonFor(event) };
  }
  if (state === 'accepted') {
    if (event.type === 'accept') return { ok: true, next: 'accepted', changed: false };
    if (event.type === 'reject' || event.type === 'timeout')
      return { ok: false, code: 'INVALID_STATE', message: `cannot ${event.type} an accepted call` };
    return { ok: true, next: 'ended', changed: true, endReason: event.type === 'cancel' ? 'hangup' : endReasonFor(event) };
  }
  // ended: everything is a no-op, so retries after the end are harmless.
  return { ok: true, next: 'ended', changed: false };
}
