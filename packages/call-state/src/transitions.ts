// The call rules as pure functions, so they can be read and tested without Redis: the state machine
// (ringing → accepted → ended, or ringing → ended), who may do what, the outcome a history line shows,
// and what a new call does to the calls its two users are already in (busy, glare).
import type { CallOutcome, CallState, EndReason } from '@voip/contracts/calls';
import { carryingDevice } from './call-fields.js';

export type CallEvent =
  | { type: 'accept' }
  | { type: 'reject'; reason?: 'rejected' | 'busy' }
  | { type: 'cancel' }
  | { type: 'timeout' }
  | { type: 'hangup' }
  | { type: 'fail'; reason: EndReason };

/** Who sends the event: one of the two participants, or the server itself (time-outs, lost connections). */
export type Role = 'caller' | 'callee' | 'system';

export interface TransitionContext {
  role?: Role;
  /** The sending device; null or absent for a request that comes from no device (REST, the server). */
  clientId?: string | null;
  /** The caller's device that placed the call (sent the offer). */
  callerClientId?: string | null;
  /** The device that already accepted, when the call is accepted. */
  answeredByClientId?: string | null;
}

export type TransitionErrorCode = 'INVALID_STATE' | 'FORBIDDEN';

export type Transition =
  | { ok: true; next: CallState; changed: boolean; endReason?: EndReason }
  | { ok: false; code: TransitionErrorCode; message: string };

const invalid = (message: string): Transition => ({ ok: false, code: 'INVALID_STATE', message });
const forbidden = (message: string): Transition => ({ ok: false, code: 'FORBIDDEN', message });
const end = (endReason: EndReason): Transition => ({ ok: true, next: 'ended', changed: true, endReason });

/**
 * Once a call is accepted it lives on two devices: the caller's offering one and the callee's answering
 * one. A participant's other devices may not end it. A request from no device (no clientId) and a call
 * that has no device recorded for that side (created without signaling) keep the per-user rule.
 */
function isOnCallDevice(role: Role, ctx: TransitionContext): boolean {
  if (role === 'system' || !ctx.clientId) return true;
  const device = carryingDevice(ctx, role);
  return !device || device === ctx.clientId;
}

/**
 * The next state for `event` in `state`. Repeating a transition that already happened (a retried accept
 * from the same device, any end after the end) is `ok` with `changed: false`, so retries are harmless.
 */
export function resolveCallTransition(
  state: CallState,
  event: CallEvent,
  ctx: TransitionContext = {},
): Transition {
  const role = ctx.role ?? 'system';
  if ((event.type === 'accept' || event.type === 'reject') && role === 'caller')
    return forbidden(`the caller cannot ${event.type} its own call`);
  if (event.type === 'timeout' && role !== 'system') return forbidden('only the server times a call out');

  if (state === 'ringing') {
    switch (event.type) {
      case 'accept':
        return { ok: true, next: 'accepted', changed: true };
      case 'reject':
        return end(event.reason ?? 'rejected');
      case 'cancel':
        return end('cancelled');
      case 'hangup':
        // Hanging up an unanswered call is a cancel by the caller and a decline by the callee.
        return end(role === 'callee' ? 'rejected' : 'cancelled');
      case 'timeout':
        return end('no-answer');
      case 'fail':
        return end(event.reason);
    }
  }
  if (state === 'accepted') {
    switch (event.type) {
      case 'accept':
        if (ctx.clientId && ctx.answeredByClientId && ctx.clientId !== ctx.answeredByClientId)
          return invalid('the call was answered on another device');
        return { ok: true, next: 'accepted', changed: false };
      case 'reject':
        return invalid('cannot reject an accepted call');
      case 'timeout':
        return invalid('cannot time out an accepted call');
      case 'cancel':
      case 'hangup':
      case 'fail':
        if (!isOnCallDevice(role, ctx)) return forbidden('the call is on another device');
        return end(event.type === 'fail' ? event.reason : 'hangup');
    }
  }
  // ended: an accept is too late; every other end is a retry and a no-op.
  if (event.type === 'accept') return invalid('the call has ended');
  return { ok: true, next: 'ended', changed: false };
}

/** The history outcome of an ended call, from why it ended and whether it was ever answered. */
export function outcomeFor(reason: EndReason, answered: boolean): CallOutcome {
  if (answered) return 'answered';
  switch (reason) {
    case 'rejected':
      return 'rejected';
    case 'busy':
      return 'busy';
    case 'no-answer':
      return 'missed';
    case 'cancelled':
    case 'hangup':
      return 'cancelled';
    case 'connection-lost':
    case 'failed':
      return 'failed';
  }
}

/** What a live call looks like to the create decision. */
export interface LiveCallView {
  callId: string;
  callerId: string;
  calleeId: string;
  state: CallState;
  /** The callee had not accepted the caller as a contact when the call was made. */
  fromStranger?: boolean;
}

export type CreateDecision =
  /** `preempt`: unanswered rings from strangers to either user, ended as busy to make room (see decideCreate). */
  | { kind: 'create'; preempt?: string[] }
  | { kind: 'busy'; code: 'CALLER_BUSY' | 'CALLEE_BUSY'; callId: string }
  | { kind: 'invalid'; message: string }
  /** Glare: the existing call (callee ringing the caller) survives; the new one is born ended, replaced by it. */
  | { kind: 'glare-keep-existing'; survivingCallId: string }
  /** Glare: the new call survives; the existing one is cancelled and replaced by it. */
  | { kind: 'glare-replace-existing'; replacedCallId: string };

const isLive = (c: LiveCallView | null): c is LiveCallView => c !== null && c.state !== 'ended';

/** `c` is a stranger's call still ringing `userId`: it does not hold `userId` for anyone they know. */
const isStrangerRingTo = (c: LiveCallView | null, userId: string): boolean =>
  isLive(c) && c.state === 'ringing' && c.calleeId === userId && c.fromStranger === true;

/**
 * Busy checks and glare, given the calls each user's pointer leads to. Glare (the callee is ringing the
 * caller right now) is resolved by one deterministic rule every instance applies the same way: the
 * call with the lower callId survives.
 */
/**
 * A stranger's unanswered ring must not make its callee unreachable (a free guest could otherwise keep
 * anyone busy): a call from someone the callee knows (`fromStranger` false) ends such a ring as busy and
 * rings instead, and so does any call the rung user places themselves. A known caller's ring, and every
 * accepted call, keep the user busy as before.
 */
export function decideCreate(
  input: { callerId: string; calleeId: string; newCallId: string; fromStranger?: boolean },
  callerCall: LiveCallView | null,
  calleeCall: LiveCallView | null,
): CreateDecision {
  if (input.callerId === input.calleeId) return { kind: 'invalid', message: 'cannot call yourself' };
  if (
    isLive(callerCall) &&
    callerCall.state === 'ringing' &&
    callerCall.callerId === input.calleeId &&
    callerCall.calleeId === input.callerId
  ) {
    return callerCall.callId < input.newCallId
      ? { kind: 'glare-keep-existing', survivingCallId: callerCall.callId }
      : { kind: 'glare-replace-existing', replacedCallId: callerCall.callId };
  }
  const preempt: string[] = [];
  if (callerCall && isStrangerRingTo(callerCall, input.callerId)) preempt.push(callerCall.callId);
  else if (isLive(callerCall)) return { kind: 'busy', code: 'CALLER_BUSY', callId: callerCall.callId };
  if (isLive(calleeCall) && !preempt.includes(calleeCall.callId)) {
    if (input.fromStranger !== true && isStrangerRingTo(calleeCall, input.calleeId))
      preempt.push(calleeCall.callId);
    else return { kind: 'busy', code: 'CALLEE_BUSY', callId: calleeCall.callId };
  }
  return preempt.length > 0 ? { kind: 'create', preempt } : { kind: 'create' };
}
