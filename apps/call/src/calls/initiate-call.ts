// POST /api/calls as a function of its collaborators: who may call whom (user service), the shared call
// state (busy checks, glare, ring deadline: @voip/call-state), the call's record, its ICE servers, and the
// wake-up push for a callee with no connected device, started beside the response and never awaited.
import type { CallStore } from '@voip/call-state/call-store';
import type { InitiateCallResponse, Media } from '@voip/contracts/calls';
import type { PrincipalKind } from '@voip/contracts/common';
import type { Principal } from '@voip/contracts/tokens';
import { userHasConnectedDevice } from '@voip/contracts/user-clients';
import { AppError } from '@voip/kit/errors';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Redis } from 'ioredis';
import { type CallRepository, callCreatedOf } from '../history/call-repository.js';
import type { WakeUpDispatcher } from '../push/wake-up-dispatcher.js';
import type { IceServerIssuer, LiveCall } from '../turn/ice-servers.js';
import type { UserDirectory } from '../users/user-directory.js';
import { defaultIncomingCalls, mayRing, type RingLimits } from './ring-policy.js';

export interface InitiateDeps {
  redis: Redis;
  store: CallStore;
  calls: CallRepository;
  directory: UserDirectory;
  turn: IceServerIssuer;
  push: WakeUpDispatcher;
  ringLimits: RingLimits;
}

export interface InitiateInput {
  caller: Principal;
  calleeId: string;
  media: Media;
}

export async function initiateCall(
  deps: InitiateDeps,
  { caller, calleeId, media }: InitiateInput,
  log: Logger,
): Promise<InitiateCallResponse> {
  const { store, directory } = deps;
  if (caller.id === calleeId) throw new AppError('BAD_REQUEST', 'you cannot call yourself');
  const callerKind: PrincipalKind = caller.kind === 'service' ? 'user' : caller.kind;

  // Both lookups at once: the callee's reachability, and the caller's own name when the token lacks one.
  const [reach, callerName] = await Promise.all([
    directory.reachability(calleeId, caller.id),
    caller.displayName
      ? Promise.resolve(caller.displayName)
      : directory.reachability(caller.id, calleeId).then((r) => r.displayName ?? caller.id),
  ]);
  if (!reach.exists) throw new AppError('USER_NOT_FOUND', 'no such user');
  // A block and a setting that leaves the caller out get the same answer: the caller does not learn which.
  const known = reach.contact === true;
  const setting = reach.incomingCalls ?? defaultIncomingCalls(reach.kind);
  if (reach.blocked || !mayRing(setting, { kind: callerKind, contact: known }))
    throw new AppError('BLOCKED', 'this user does not accept your calls');
  await deps.ringLimits.ring(caller.id, calleeId, known);
  if (reach.doNotDisturb)
    throw new AppError('CALLEE_BUSY', 'the callee does not take calls right now', {
      reason: 'do-not-disturb',
    });

  const created = await store.create({
    callerId: caller.id,
    callerKind,
    callerName,
    calleeId,
    media,
    fromStranger: !known,
  });
  if (!created.ok) {
    if (created.code === 'BAD_REQUEST') throw new AppError('BAD_REQUEST', created.message);
    throw new AppError(created.code, created.message, { reason: 'in-call' });
  }
  const { call, survivingCallId, replaced } = created;
  const clog = log.child({ callId: call.callId });

  if (call.state === 'ended') {
    // Glare, the other call kept: this one was born cancelled. The answer names the call to keep, with
    // ICE servers for it and the time it stops ringing, so the client switches to it (it is its callee).
    const surviving = await store.get(survivingCallId);
    clog.info({ survivingCallId }, 'glare: the existing call was kept');
    return {
      callId: call.callId,
      state: 'ended',
      replacedBy: survivingCallId,
      iceServers: await iceServersFor(deps, caller.id, surviving ?? call, clog),
      expiresAt: surviving?.expiresAt ?? call.expiresAt,
    };
  }
  if (replaced) clog.info({ replacedCallId: replaced.callId }, 'glare: this call replaced the existing one');
  for (const p of created.preempted)
    clog.info(
      { preemptedCallId: p.callId, strangerId: p.callerId },
      "a stranger's unanswered ring ended as busy",
    );

  // No connected device: wake the callee's phones. A device that is only `reconnecting` (a phone that
  // dropped its socket, e.g. backgrounded, within its resume window) is not in the room incoming-call
  // goes to, so it is woken too. The dispatcher runs on its own; we never wait for it.
  const offline = !(await userHasConnectedDevice(deps.redis, calleeId));
  const needsPush = offline && (await deps.ringLimits.push(caller.id, calleeId, known));
  if (offline && !needsPush)
    clog.info({ calleeId }, 'wake-up push skipped: push limit for this callee reached');
  // The record is written behind the stream (call.created, by the history consumer, push "none"): the
  // hot path writes no database. Only a call that starts a wake-up writes here, first, so the record
  // says "pending" before the dispatcher can finish (settled at the end if its instance dies).
  if (needsPush) await recordCreated(deps, call, 'pending', clog);
  if (needsPush) {
    deps.push.wake({
      callId: call.callId,
      calleeId,
      callerId: caller.id,
      callerName,
      media,
      expiresAt: call.expiresAt,
    });
  }
  clog.info({ calleeId, media, push: needsPush }, 'call initiated');
  return {
    callId: call.callId,
    state: call.state,
    iceServers: await iceServersFor(deps, caller.id, call, clog),
    expiresAt: call.expiresAt,
  };

  async function iceServersFor(d: InitiateDeps, userId: string, c: LiveCall, l: Logger) {
    try {
      return (await d.turn.issue(userId, c)).iceServers;
    } catch (err) {
      // TURN's Redis user db being away must not fail the call: STUN now, GET /ice-servers again later.
      l.warn({ err: (err as Error).message }, 'could not issue TURN credentials; answering with STUN only');
      return (await d.turn.issue(userId)).iceServers;
    }
  }

  async function recordCreated(d: InitiateDeps, c: typeof call, push: 'pending', l: Logger) {
    try {
      await d.calls.recordCreated(callCreatedOf(c, push));
    } catch (err) {
      // The call is live in Redis and its events are on the stream: history catches up from call.created.
      l.warn(
        { err: (err as Error).message },
        'could not write the call record now; history will write it from the stream',
      );
    }
  }
}
