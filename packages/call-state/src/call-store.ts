// The live call records in Redis, shared by the call service (creates calls) and signaling (moves them
// along): busy checks, glare, atomic transitions, the ring-timeout wheel, and the call.* stream events,
// appended in the same atomic write as the state change so each one happens exactly once.
// Over ~400 lines on purpose: every write of a call record and its guards in one place, read together
// (the rules are in transitions.ts, the shared read-only view in call-fields.ts).
import { createEnvelope } from '@voip/bus/envelope';
import { ENTRY_FIELD } from '@voip/bus/streams';
import type { BusEventData, BusEventType } from '@voip/contracts/bus-events';
import type { CallOutcome, CallState, EndReason, Media } from '@voip/contracts/calls';
import type { PrincipalKind } from '@voip/contracts/common';
import { channels, keys, streams } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { monotonicFactory } from 'ulid';
import { roleIn, UNANSWERED_CALL_FIELDS } from './call-fields.js';
import { type Guard, guardedWrite, type Op } from './guarded-write.js';
import {
  type CallEvent,
  decideCreate,
  type LiveCallView,
  outcomeFor,
  type Role,
  resolveCallTransition,
} from './transitions.js';

export interface CallOffer {
  type: 'offer';
  sdp: string;
}

/** A call as stored. Times are ISO-8601 UTC; null where it has not happened. */
export interface CallRecord {
  callId: string;
  callerId: string;
  callerKind: PrincipalKind;
  callerName: string;
  calleeId: string;
  media: Media;
  state: CallState;
  /** Bumped by every write: the compare-and-set version. */
  rev: number;
  createdAt: string;
  /** When ringing stops with no-answer. */
  expiresAt: string;
  ringDeadlineMs: number;
  /** The caller's device that sent the offer (signaling's `call-user`). */
  callerClientId: string | null;
  offer: CallOffer | null;
  answeredAt: string | null;
  /** The callee's device that won the accept. */
  answeredByClientId: string | null;
  endedAt: string | null;
  endReason: EndReason | null;
  outcome: CallOutcome | null;
  durationMs: number | null;
  endedBy: string | null;
  replacedBy: string | null;
  /** The callee had not accepted the caller as a contact: while it rings it may be pre-empted (decideCreate). */
  fromStranger: boolean;
}

export interface CreateCallInput {
  callerId: string;
  callerKind: PrincipalKind;
  callerName: string;
  calleeId: string;
  media: Media;
  /** The callee does not know the caller (the call service decides; default false). */
  fromStranger?: boolean;
}

export type CreateResult =
  | {
      ok: true;
      /** The new call: `ringing`, or (glare, the other call kept) already `ended` with `replacedBy`. */
      call: CallRecord;
      /** The call both users should keep: call.callId, or the existing call in glare. */
      survivingCallId: string;
      /** Glare where the new call won: the existing call, now ended as cancelled and replaced by the new one. */
      replaced: CallRecord | null;
      /** Strangers' unanswered rings to either user that this call ended as busy (decideCreate). */
      preempted: CallRecord[];
    }
  | { ok: false; code: 'CALLER_BUSY' | 'CALLEE_BUSY'; message: string; callId: string }
  | { ok: false; code: 'BAD_REQUEST'; message: string };

export interface TransitionBy {
  /** The participant sending the event; omitted for the server's own (time-outs, lost connections). */
  byUserId?: string | null;
  /**
   * The sending device. Accept: who wins (recorded as answeredByClientId). Ending an accepted call: must
   * be the caller's offering device or the callee's answering one, else FORBIDDEN. Omitted for a request
   * from no device (the per-user rule applies).
   */
  clientId?: string | null;
  /** Recorded as call.ended's endedBy when the server ends a call on someone's behalf. */
  endedBy?: string | null;
}

export type TransitionResult =
  | { ok: true; changed: boolean; call: CallRecord; previousState: CallState }
  | { ok: false; code: 'NOT_FOUND' | 'FORBIDDEN' | 'INVALID_STATE'; message: string; call?: CallRecord };

export type RecordOfferResult =
  | { ok: true; call: CallRecord }
  | { ok: false; code: 'NOT_FOUND' | 'FORBIDDEN' | 'INVALID_STATE'; message: string; call?: CallRecord };

export interface CallStoreOptions {
  /** The envelope `source` of the stream events: the instance id of the service using the store. */
  producerSource: string;
  ringTimeoutMs?: number;
  /** How long an ended call stays readable (late retries, GET /api/calls/:id before history has it). */
  endedRetentionMs?: number;
  /** Safety TTL on live records and user pointers, so a bug can never leave a user busy forever. */
  liveTtlMs?: number;
  streamMaxLen?: number;
  /** New call ids (ULIDs by default); tests inject ids to force either side of a glare. */
  newCallId?: () => string;
}

/** Who carries an accepted call: what a reconciliation asks the caller of reconcileLive about. */
export interface LiveCallDevices {
  callId: string;
  callerId: string;
  calleeId: string;
  callerClientId: string | null;
  answeredByClientId: string | null;
}

export interface ReconcileLiveOptions {
  now?: number;
  /** ZSCAN batch size (one pipelined read per batch). */
  batch?: number;
  /** For accepted calls: which of them (one answer per call, in order) no participant device carries any more. */
  unattended?: (calls: LiveCallDevices[]) => Promise<boolean[]>;
  /** How long an accepted call must stay unattended, seen by two runs, before it ends as connection-lost. */
  unattendedForMs?: number;
}

export interface CallStore {
  readonly ringTimeoutMs: number;
  create(input: CreateCallInput): Promise<CreateResult>;
  get(callId: string): Promise<CallRecord | null>;
  isParticipant(callId: string, userId: string): Promise<boolean>;
  /** The live (ringing or accepted) call of a user, or null. */
  activeCallOf(userId: string): Promise<CallRecord | null>;
  transition(callId: string, event: CallEvent, by?: TransitionBy): Promise<TransitionResult>;
  /** The caller's device sends its offer: recorded (with the device) while ringing; a retry from the same device replaces it. */
  recordOffer(
    callId: string,
    by: { byUserId: string; clientId: string; offer: CallOffer },
  ): Promise<RecordOfferResult>;
  /**
   * True exactly once per call, to the first who asks while it rings (signaling's `call-ringing` to the
   * caller, however many callee devices connect). Marks the record's `ringingNotifiedAt`; not a state
   * change, so no rev bump and no event.
   */
  claimRingingNotice(callId: string): Promise<boolean>;
  /** Ends ringing calls whose deadline passed as no-answer. Safe to run on every instance: each call ends once, and only the run that ended it gets it back. */
  expireDue(now?: number, limit?: number): Promise<CallRecord[]>;
  /** Cluster-wide counts of live calls by state. */
  countLive(): Promise<{ ringing: number; accepted: number }>;
  /**
   * The live-calls index against the records: drops entries whose record is gone (it expired through its
   * live TTL) or ended, and ends accepted calls `unattended` for longer than `unattendedForMs` as
   * connection-lost (the normal transition: one call.ended). Safe on every instance; returns what this run ended.
   */
  reconcileLive(opts?: ReconcileLiveOptions): Promise<{ pruned: number; ended: CallRecord[] }>;
}

const MAX_ATTEMPTS = 32;
const iso = (ms: number) => new Date(ms).toISOString();
const orNull = (v: string | undefined) => (v === undefined || v === '' ? null : v);

export function parseCallRecord(h: Record<string, string>): CallRecord | null {
  if (!h.callId || !h.state) return null;
  let offer: CallOffer | null = null;
  if (h.offer) {
    try {
      offer = JSON.parse(h.offer) as CallOffer;
    } catch {
      offer = null;
    }
  }
  return {
    callId: h.callId,
    callerId: h.callerId ?? '',
    callerKind: (h.callerKind ?? 'user') as PrincipalKind,
    callerName: h.callerName ?? '',
    calleeId: h.calleeId ?? '',
    media: (h.media ?? 'audio') as Media,
    state: h.state as CallState,
    rev: Number(h.rev ?? 0),
    createdAt: h.createdAt ?? '',
    expiresAt: h.expiresAt ?? '',
    ringDeadlineMs: Number(h.ringDeadlineMs ?? 0),
    callerClientId: orNull(h.callerClientId),
    offer,
    answeredAt: orNull(h.answeredAt),
    answeredByClientId: orNull(h.answeredByClientId),
    endedAt: orNull(h.endedAt),
    endReason: orNull(h.endReason) as EndReason | null,
    outcome: orNull(h.outcome) as CallOutcome | null,
    durationMs: h.durationMs ? Number(h.durationMs) : null,
    endedBy: orNull(h.endedBy),
    replacedBy: orNull(h.replacedBy),
    fromStranger: h.fromStranger === '1',
  };
}

const view = (r: CallRecord | null): LiveCallView | null =>
  r && {
    callId: r.callId,
    callerId: r.callerId,
    calleeId: r.calleeId,
    state: r.state,
    fromStranger: r.fromStranger,
  };

export function createCallStore(redis: Redis, opts: CallStoreOptions): CallStore {
  const ringTimeoutMs = opts.ringTimeoutMs ?? 30_000;
  const endedRetentionMs = opts.endedRetentionMs ?? 60 * 60_000;
  const liveTtlMs = opts.liveTtlMs ?? 12 * 60 * 60_000;
  const maxLen = String(opts.streamMaxLen ?? 1_000_000);
  const source = opts.producerSource;
  // Monotonic: two calls created in the same millisecond by this process still get increasing ids, so
  // glare's "lower callId survives" means "the call made first survives" here, not a coin toss.
  const newCallId = opts.newCallId ?? monotonicFactory();

  const xadd = <K extends BusEventType>(type: K, data: BusEventData<K>): Op[] => {
    const json = JSON.stringify(createEnvelope(type, data, source));
    const ops: Op[] = [['XADD', streams.callEvents, 'MAXLEN', '~', maxLen, '*', ENTRY_FIELD, json]];
    // Live fan-out of ends (signaling tells every device, whoever ended the call); the stream is the durable copy.
    if (type === 'call.ended') ops.push(['PUBLISH', channels.bus(type), json]);
    return ops;
  };
  const hset = (key: string, fields: Record<string, string | number>): Op => [
    'HSET',
    key,
    ...Object.entries(fields).flatMap(([k, v]) => [k, String(v)]),
  ];
  const revGuard = (r: CallRecord): Guard => ({
    key: keys.call(r.callId),
    field: 'rev',
    equals: String(r.rev),
  });

  /** The writes that end `r` now, and the record as it will be. */
  function endWrites(
    r: CallRecord,
    reason: EndReason,
    nowMs: number,
    endedBy: string | null,
    replacedBy: string | null,
  ) {
    const answeredMs = r.answeredAt ? Date.parse(r.answeredAt) : null;
    const ended: CallRecord = {
      ...r,
      state: 'ended',
      rev: r.rev + 1,
      endedAt: iso(nowMs),
      endReason: reason,
      outcome: outcomeFor(reason, answeredMs !== null),
      durationMs: answeredMs === null ? 0 : Math.max(0, nowMs - answeredMs),
      endedBy,
      replacedBy: replacedBy ?? r.replacedBy,
    };
    const ops: Op[] = [
      hset(keys.call(r.callId), {
        state: 'ended',
        rev: ended.rev,
        endedAt: ended.endedAt!,
        endReason: reason,
        outcome: ended.outcome!,
        durationMs: ended.durationMs!,
        endedBy: endedBy ?? '',
        replacedBy: ended.replacedBy ?? '',
      }),
      ['PEXPIRE', keys.call(r.callId), String(endedRetentionMs)],
      ['DELIFEQ', keys.userCall(r.callerId), r.callId],
      ['DELIFEQ', keys.userCall(r.calleeId), r.callId],
      ['ZREM', keys.ringDeadlines(), r.callId],
      ['ZREM', keys.liveCalls(), r.callId],
      ...xadd('call.ended', {
        callId: r.callId,
        callerId: r.callerId,
        calleeId: r.calleeId,
        media: r.media,
        outcome: ended.outcome!,
        endReason: reason,
        createdAt: r.createdAt,
        answeredAt: r.answeredAt,
        endedAt: ended.endedAt!,
        durationMs: ended.durationMs!,
        endedBy,
        ...(ended.replacedBy ? { replacedBy: ended.replacedBy } : {}),
      }),
    ];
    return { ops, ended };
  }

  async function get(callId: string): Promise<CallRecord | null> {
    return parseCallRecord(await redis.hgetall(keys.call(callId)));
  }

  async function create(input: CreateCallInput): Promise<CreateResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const callId = newCallId();
      const [ptrCaller, ptrCallee] = await redis.mget(
        keys.userCall(input.callerId),
        keys.userCall(input.calleeId),
      );
      const callerCall = ptrCaller ? await get(ptrCaller) : null;
      const calleeCall = ptrCallee ? (ptrCallee === ptrCaller ? callerCall : await get(ptrCallee)) : null;
      const decision = decideCreate({ ...input, newCallId: callId }, view(callerCall), view(calleeCall));
      if (decision.kind === 'invalid') return { ok: false, code: 'BAD_REQUEST', message: decision.message };
      if (decision.kind === 'busy')
        return {
          ok: false,
          code: decision.code,
          callId: decision.callId,
          message:
            decision.code === 'CALLER_BUSY' ? 'you are already in a call' : 'the callee is in another call',
        };

      const nowMs = Date.now();
      const guards: Guard[] = [
        { key: keys.userCall(input.callerId), equals: ptrCaller ?? null },
        { key: keys.userCall(input.calleeId), equals: ptrCallee ?? null },
        { key: keys.call(callId), field: 'rev', equals: null },
      ];
      if (callerCall) guards.push(revGuard(callerCall));
      if (calleeCall && calleeCall !== callerCall) guards.push(revGuard(calleeCall));

      const base: CallRecord = {
        callId,
        callerId: input.callerId,
        callerKind: input.callerKind,
        callerName: input.callerName,
        calleeId: input.calleeId,
        media: input.media,
        state: 'ringing',
        rev: 1,
        createdAt: iso(nowMs),
        expiresAt: iso(nowMs + ringTimeoutMs),
        ringDeadlineMs: nowMs + ringTimeoutMs,
        callerClientId: null,
        offer: null,
        answeredByClientId: null,
        ...UNANSWERED_CALL_FIELDS,
        fromStranger: input.fromStranger === true,
      };
      const record = (r: CallRecord): Op =>
        hset(keys.call(r.callId), {
          callId: r.callId,
          callerId: r.callerId,
          callerKind: r.callerKind,
          callerName: r.callerName,
          calleeId: r.calleeId,
          media: r.media,
          state: r.state,
          rev: r.rev,
          createdAt: r.createdAt,
          expiresAt: r.expiresAt,
          ringDeadlineMs: r.ringDeadlineMs,
          fromStranger: r.fromStranger ? '1' : '0',
        });
      const created = xadd('call.created', {
        callId,
        callerId: input.callerId,
        calleeId: input.calleeId,
        media: input.media,
        createdAt: base.createdAt,
        expiresAt: base.expiresAt,
      });

      if (decision.kind === 'glare-keep-existing') {
        // The new call is born ended, so GET /api/calls/:id and history can say what replaced it.
        const { ops: endOps, ended } = endWrites(
          base,
          'cancelled',
          nowMs,
          input.callerId,
          decision.survivingCallId,
        );
        const ops: Op[] = [record(base), ...created, ...endOps.filter((o) => o[0] !== 'DELIFEQ')];
        if (await guardedWrite(redis, guards, ops))
          return {
            ok: true,
            call: ended,
            survivingCallId: decision.survivingCallId,
            replaced: null,
            preempted: [],
          };
        continue;
      }

      const ops: Op[] = [];
      let replaced: CallRecord | null = null;
      if (decision.kind === 'glare-replace-existing') {
        const existing = callerCall!;
        const w = endWrites(existing, 'cancelled', nowMs, null, callId);
        ops.push(...w.ops);
        replaced = w.ended;
      }
      const preempted: CallRecord[] = [];
      if (decision.kind === 'create' && decision.preempt) {
        for (const id of decision.preempt) {
          const stranger = [callerCall, calleeCall].find((c) => c?.callId === id);
          if (!stranger) continue;
          const w = endWrites(stranger, 'busy', nowMs, null, null);
          ops.push(...w.ops);
          preempted.push(w.ended);
        }
      }
      ops.push(
        record(base),
        ['PEXPIRE', keys.call(callId), String(liveTtlMs)],
        ['SET', keys.userCall(input.callerId), callId, 'PX', String(liveTtlMs)],
        ['SET', keys.userCall(input.calleeId), callId, 'PX', String(liveTtlMs)],
        ['ZADD', keys.ringDeadlines(), String(base.ringDeadlineMs), callId],
        ['ZADD', keys.liveCalls(), String(nowMs), callId],
        ...created,
      );
      if (await guardedWrite(redis, guards, ops))
        return { ok: true, call: base, survivingCallId: callId, replaced, preempted };
    }
    throw new Error('call-state: create gave up after repeated concurrent changes');
  }

  async function transition(
    callId: string,
    event: CallEvent,
    by: TransitionBy = {},
  ): Promise<TransitionResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const r = await get(callId);
      if (!r) return { ok: false, code: 'NOT_FOUND', message: 'no such call' };
      const role: Role | null = by.byUserId ? roleIn(r, by.byUserId) : 'system';
      if (!role) return { ok: false, code: 'FORBIDDEN', message: 'not a participant of this call' };
      const t = resolveCallTransition(r.state, event, {
        role,
        clientId: by.clientId ?? null,
        callerClientId: r.callerClientId,
        answeredByClientId: r.answeredByClientId,
      });
      if (!t.ok) return { ok: false, code: t.code, message: t.message, call: r };
      if (!t.changed) return { ok: true, changed: false, call: r, previousState: r.state };

      const nowMs = Date.now();
      if (t.next === 'accepted') {
        const accepted: CallRecord = {
          ...r,
          state: 'accepted',
          rev: r.rev + 1,
          answeredAt: iso(nowMs),
          answeredByClientId: by.clientId ?? null,
        };
        const ops: Op[] = [
          hset(keys.call(callId), {
            state: 'accepted',
            rev: accepted.rev,
            answeredAt: accepted.answeredAt!,
            answeredByClientId: accepted.answeredByClientId ?? '',
          }),
          ['ZREM', keys.ringDeadlines(), callId],
          ...xadd('call.accepted', {
            callId,
            answeredAt: accepted.answeredAt!,
            ...(accepted.answeredByClientId ? { clientId: accepted.answeredByClientId } : {}),
          }),
        ];
        if (await guardedWrite(redis, [revGuard(r)], ops))
          return { ok: true, changed: true, call: accepted, previousState: r.state };
        continue;
      }
      const endedBy = by.endedBy ?? by.byUserId ?? null;
      const w = endWrites(r, t.endReason!, nowMs, endedBy, null);
      if (await guardedWrite(redis, [revGuard(r)], w.ops))
        return { ok: true, changed: true, call: w.ended, previousState: r.state };
    }
    throw new Error('call-state: transition gave up after repeated concurrent changes');
  }

  async function recordOffer(
    callId: string,
    by: { byUserId: string; clientId: string; offer: CallOffer },
  ): Promise<RecordOfferResult> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const r = await get(callId);
      if (!r) return { ok: false, code: 'NOT_FOUND', message: 'no such call' };
      const role = roleIn(r, by.byUserId);
      if (!role) return { ok: false, code: 'FORBIDDEN', message: 'not a participant of this call' };
      if (role !== 'caller')
        return { ok: false, code: 'FORBIDDEN', message: 'only the caller sends the offer', call: r };
      if (r.state !== 'ringing')
        return { ok: false, code: 'INVALID_STATE', message: `the call is ${r.state}`, call: r };
      if (r.callerClientId && r.callerClientId !== by.clientId)
        return {
          ok: false,
          code: 'INVALID_STATE',
          message: 'another of your devices placed this call',
          call: r,
        };
      const next: CallRecord = { ...r, rev: r.rev + 1, callerClientId: by.clientId, offer: by.offer };
      const ops: Op[] = [
        hset(keys.call(callId), {
          rev: next.rev,
          callerClientId: by.clientId,
          offer: JSON.stringify(by.offer),
        }),
      ];
      if (await guardedWrite(redis, [revGuard(r)], ops)) return { ok: true, call: next };
    }
    throw new Error('call-state: recordOffer gave up after repeated concurrent changes');
  }

  async function expireDue(now = Date.now(), limit = 100): Promise<CallRecord[]> {
    const due = await redis.zrangebyscore(keys.ringDeadlines(), '-inf', String(now), 'LIMIT', 0, limit);
    const ended: CallRecord[] = [];
    for (const callId of due) {
      const r = await get(callId);
      if (r?.state !== 'ringing') {
        // A record that expired or moved on without its wheel entry: drop the entry.
        await redis.zrem(keys.ringDeadlines(), callId);
        continue;
      }
      if (r.ringDeadlineMs > now) continue;
      const t = await transition(callId, { type: 'timeout' });
      if (t.ok && t.changed) ended.push(t.call);
    }
    return ended;
  }

  async function reconcileLive(
    o: ReconcileLiveOptions = {},
  ): Promise<{ pruned: number; ended: CallRecord[] }> {
    const now = o.now ?? Date.now();
    const graceMs = o.unattendedForMs ?? 0;
    let pruned = 0;
    const ended: CallRecord[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await redis.zscan(keys.liveCalls(), cursor, 'COUNT', o.batch ?? 200);
      cursor = next;
      const ids = flat.filter((_, i) => i % 2 === 0);
      if (ids.length === 0) continue;
      const pipe = redis.pipeline();
      for (const id of ids)
        pipe.hmget(
          keys.call(id),
          'state',
          'callerId',
          'calleeId',
          'callerClientId',
          'answeredByClientId',
          'unattendedSinceMs',
        );
      const rows = (await pipe.exec()) ?? [];
      const gone: string[] = [];
      const accepted: (LiveCallDevices & { since: number | null })[] = [];
      for (const [j, callId] of ids.entries()) {
        const [err, values] = rows[j] ?? [];
        if (err || !values) continue;
        const [state, callerId, calleeId, callerClientId, answeredBy, since] = values as (string | null)[];
        if (!state || state === 'ended') gone.push(callId);
        else if (state === 'accepted')
          accepted.push({
            callId,
            callerId: callerId ?? '',
            calleeId: calleeId ?? '',
            callerClientId: orNull(callerClientId ?? undefined),
            answeredByClientId: orNull(answeredBy ?? undefined),
            since: since ? Number(since) : null,
          });
      }
      // Records never come back once gone (ids are not reused), so the entry can go without a guard.
      if (gone.length > 0) pruned += await redis.zrem(keys.liveCalls(), ...gone);
      if (!o.unattended || accepted.length === 0) continue;
      const flags = await o.unattended(accepted.map(({ since: _, ...c }) => c));
      for (const [j, c] of accepted.entries()) {
        const key = keys.call(c.callId);
        if (!flags[j]) {
          if (c.since !== null) await redis.hdel(key, 'unattendedSinceMs');
        } else if (c.since === null) {
          // First sighting: a mark, not a state change (no rev bump, no event); a later run ends it.
          await guardedWrite(
            redis,
            [
              { key, field: 'state', equals: 'accepted' },
              { key, field: 'unattendedSinceMs', equals: null },
            ],
            [hset(key, { unattendedSinceMs: now })],
          );
        } else if (now - c.since >= graceMs) {
          const t = await transition(c.callId, { type: 'fail', reason: 'connection-lost' });
          if (t.ok && t.changed) ended.push(t.call);
        }
      }
    } while (cursor !== '0');
    return { pruned, ended };
  }

  return {
    ringTimeoutMs,
    create,
    get,
    async isParticipant(callId, userId) {
      const [caller, callee] = await redis.hmget(keys.call(callId), 'callerId', 'calleeId');
      return userId !== '' && (userId === caller || userId === callee);
    },
    async activeCallOf(userId) {
      const callId = await redis.get(keys.userCall(userId));
      if (!callId) return null;
      const r = await get(callId);
      return r && r.state !== 'ended' ? r : null;
    },
    transition,
    recordOffer,
    claimRingingNotice: (callId) =>
      guardedWrite(
        redis,
        [
          { key: keys.call(callId), field: 'state', equals: 'ringing' },
          { key: keys.call(callId), field: 'ringingNotifiedAt', equals: null },
        ],
        [hset(keys.call(callId), { ringingNotifiedAt: iso(Date.now()) })],
      ),
    expireDue,
    async countLive() {
      const res = await redis.multi().zcard(keys.ringDeadlines()).zcard(keys.liveCalls()).exec();
      const ringing = Number(res?.[0]?.[1] ?? 0);
      const live = Number(res?.[1]?.[1] ?? 0);
      return { ringing, accepted: Math.max(0, live - ringing) };
    },
    reconcileLive,
  };
}
