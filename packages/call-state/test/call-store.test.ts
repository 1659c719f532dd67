import { parseEnvelope } from '@voip/bus/envelope';
import { ENTRY_FIELD } from '@voip/bus/streams';
import { keys, streams } from '@voip/contracts/redis-keys';
import { redisUrl } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CallStore, createCallStore, type CreateCallInput } from '../src/call-store.js';

let redis: Redis;
let store: CallStore;

beforeAll(async () => {
  redis = new Redis(redisUrl());
  store = createCallStore(redis, { producerSource: 'test-call-state', ringTimeoutMs: 30_000 });
});
afterAll(async () => {
  await redis.quit();
});

const input = (callerId: string, calleeId: string): CreateCallInput => ({
  callerId,
  callerKind: 'user',
  callerName: `name of ${callerId}`,
  calleeId,
  media: 'audio',
});
const users = () => [ulid(), ulid(), ulid()] as const;

/** Every event of the call-events stream about callId, parsed and validated. */
async function eventsOf(callId: string) {
  const entries = await redis.xrange(streams.callEvents, '-', '+');
  return entries
    .map(([, fields]) => {
      const raw = fields[fields.indexOf(ENTRY_FIELD) + 1]!;
      const parsed = parseEnvelope(raw);
      if (!parsed.ok) throw new Error(`invalid envelope in stream: ${parsed.reason} ${parsed.detail}`);
      return parsed.envelope;
    })
    .filter((e) => (e.data as { callId: string }).callId === callId);
}

async function createRinging(callerId: string, calleeId: string) {
  const res = await store.create(input(callerId, calleeId));
  if (!res.ok) throw new Error(`create failed: ${res.code}`);
  return res.call;
}

describe('create', () => {
  it('writes a ringing call, both user pointers, a ring deadline and call.created', async () => {
    const [a, b] = users();
    const res = await store.create(input(a, b));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.call).toMatchObject({
      state: 'ringing',
      callerId: a,
      calleeId: b,
      media: 'audio',
      callerName: `name of ${a}`,
    });
    expect(res.survivingCallId).toBe(res.call.callId);
    expect(Date.parse(res.call.expiresAt) - Date.parse(res.call.createdAt)).toBe(30_000);
    expect(await redis.get(keys.userCall(a))).toBe(res.call.callId);
    expect(await redis.get(keys.userCall(b))).toBe(res.call.callId);
    expect(Number(await redis.zscore(keys.ringDeadlines(), res.call.callId))).toBe(res.call.ringDeadlineMs);
    expect((await store.get(res.call.callId))?.state).toBe('ringing');
    expect((await eventsOf(res.call.callId)).map((e) => e.type)).toEqual(['call.created']);
    expect(await store.activeCallOf(a)).toMatchObject({ callId: res.call.callId });
    expect(await store.isParticipant(res.call.callId, b)).toBe(true);
  });

  it('refuses with CALLER_BUSY and CALLEE_BUSY while either user is in a call', async () => {
    const [a, b, c] = users();
    const first = await createRinging(a, b);
    expect(await store.create(input(a, c))).toMatchObject({
      ok: false,
      code: 'CALLER_BUSY',
      callId: first.callId,
    });
    expect(await store.create(input(c, b))).toMatchObject({
      ok: false,
      code: 'CALLEE_BUSY',
      callId: first.callId,
    });
    await store.transition(first.callId, { type: 'accept' }, { byUserId: b, clientId: 'dev1' });
    expect(await store.create(input(c, a))).toMatchObject({ ok: false, code: 'CALLEE_BUSY' });
    await store.transition(first.callId, { type: 'hangup' }, { byUserId: a });
    expect(await store.create(input(c, a))).toMatchObject({ ok: true });
  });

  it('refuses calling yourself', async () => {
    const [a] = users();
    expect(await store.create(input(a, a))).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });

  it('lets only one of two simultaneous calls to the same callee through', async () => {
    const [a, b, c] = users();
    const results = await Promise.all([store.create(input(a, c)), store.create(input(b, c))]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok && r.code === 'CALLEE_BUSY')).toHaveLength(1);
  });
});

describe('glare', () => {
  it('call ids of one store increase in creation order, even within one millisecond (so the first call wins)', async () => {
    // create() takes its id before its first await, so these 40 are handed out in array order, most of
    // them within the same millisecond: plain ULIDs would order those at random.
    const created = await Promise.all(Array.from({ length: 40 }, () => store.create(input(ulid(), ulid()))));
    const ids = created.map((r) => (r.ok ? r.call.callId : ''));
    expect(ids.every((id) => id !== '')).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('keeps the existing (lower) call; the new one is born ended as cancelled, replaced by it', async () => {
    const [a, b] = users();
    const existing = await createRinging(b, a);
    const res = await store.create(input(a, b));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.survivingCallId).toBe(existing.callId);
    expect(res.call).toMatchObject({
      state: 'ended',
      endReason: 'cancelled',
      outcome: 'cancelled',
      replacedBy: existing.callId,
    });
    expect((await store.get(existing.callId))?.state).toBe('ringing');
    expect(await redis.get(keys.userCall(a))).toBe(existing.callId);
    const events = await eventsOf(res.call.callId);
    expect(events.map((e) => e.type)).toEqual(['call.created', 'call.ended']);
    expect(events[1]?.data).toMatchObject({ replacedBy: existing.callId, outcome: 'cancelled' });
  });

  it('replaces the existing call when the new callId is lower', async () => {
    const [a, b] = users();
    const low = createCallStore(redis, { producerSource: 'test-call-state', newCallId: () => `0${ulid()}` });
    const existing = await createRinging(b, a);
    const res = await low.create(input(a, b));
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.survivingCallId).toBe(res.call.callId);
    expect(res.call.state).toBe('ringing');
    expect(res.replaced).toMatchObject({
      callId: existing.callId,
      state: 'ended',
      endReason: 'cancelled',
      replacedBy: res.call.callId,
    });
    expect((await store.get(existing.callId))?.replacedBy).toBe(res.call.callId);
    expect(await redis.get(keys.userCall(a))).toBe(res.call.callId);
    expect(await redis.get(keys.userCall(b))).toBe(res.call.callId);
    expect((await eventsOf(existing.callId)).map((e) => e.type)).toEqual(['call.created', 'call.ended']);
  });
});

describe('transition', () => {
  it('lets the first of several devices accept, records it, and refuses the rest', async () => {
    const [a, b] = users();
    const call = await createRinging(a, b);
    const devices = Array.from({ length: 8 }, (_, i) => `device-${i}`);
    const results = await Promise.all(
      devices.map((clientId) => store.transition(call.callId, { type: 'accept' }, { byUserId: b, clientId })),
    );
    const winners = results.filter((r) => r.ok && r.changed);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!;
    if (!winner.ok) return;
    expect(results.filter((r) => !r.ok && r.code === 'INVALID_STATE')).toHaveLength(devices.length - 1);
    expect((await store.get(call.callId))?.answeredByClientId).toBe(winner.call.answeredByClientId);
    // The winner retrying is harmless.
    const retry = await store.transition(
      call.callId,
      { type: 'accept' },
      { byUserId: b, clientId: winner.call.answeredByClientId! },
    );
    expect(retry).toMatchObject({ ok: true, changed: false });
    expect(await redis.zscore(keys.ringDeadlines(), call.callId)).toBeNull();
    expect((await eventsOf(call.callId)).map((e) => e.type)).toEqual(['call.created', 'call.accepted']);
  });

  it('appends exactly one valid call.ended even when many ends race', async () => {
    const [a, b] = users();
    const call = await createRinging(a, b);
    await store.transition(call.callId, { type: 'accept' }, { byUserId: b, clientId: 'dev' });
    const ends = await Promise.all([
      ...Array.from({ length: 5 }, () => store.transition(call.callId, { type: 'hangup' }, { byUserId: a })),
      ...Array.from({ length: 5 }, () => store.transition(call.callId, { type: 'hangup' }, { byUserId: b })),
      ...Array.from({ length: 5 }, () =>
        store.transition(call.callId, { type: 'fail', reason: 'connection-lost' }),
      ),
    ]);
    expect(ends.every((r) => r.ok)).toBe(true);
    expect(ends.filter((r) => r.ok && r.changed)).toHaveLength(1);
    const ended = (await eventsOf(call.callId)).filter((e) => e.type === 'call.ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.data).toMatchObject({
      callId: call.callId,
      callerId: a,
      calleeId: b,
      outcome: 'answered',
      media: 'audio',
    });
    expect(await redis.get(keys.userCall(a))).toBeNull();
    expect(await redis.get(keys.userCall(b))).toBeNull();
    expect(await redis.zscore(keys.liveCalls(), call.callId)).toBeNull();
    expect(await redis.pttl(keys.call(call.callId))).toBeGreaterThan(0);
  });

  it('computes the duration from the answer and keeps retries idempotent', async () => {
    const [a, b] = users();
    const call = await createRinging(a, b);
    await store.transition(call.callId, { type: 'accept' }, { byUserId: b, clientId: 'dev' });
    await new Promise((r) => setTimeout(r, 30));
    const end = await store.transition(call.callId, { type: 'hangup' }, { byUserId: b });
    expect(end).toMatchObject({ ok: true, changed: true, previousState: 'accepted' });
    if (!end.ok) return;
    expect(end.call.durationMs).toBeGreaterThanOrEqual(25);
    expect(end.call).toMatchObject({ endReason: 'hangup', outcome: 'answered', endedBy: b });
    expect(await store.transition(call.callId, { type: 'hangup' }, { byUserId: b })).toMatchObject({
      ok: true,
      changed: false,
    });
    expect(
      await store.transition(call.callId, { type: 'accept' }, { byUserId: b, clientId: 'dev' }),
    ).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
  });

  it('ends an accepted call only from its two devices: the record decides, not the caller of transition', async () => {
    const [a, b] = users();
    const call = await createRinging(a, b);
    await store.recordOffer(call.callId, {
      byUserId: a,
      clientId: 'a-phone',
      offer: { type: 'offer', sdp: 'v=0' },
    });
    await store.transition(call.callId, { type: 'accept' }, { byUserId: b, clientId: 'b-phone' });
    for (const [byUserId, clientId] of [
      [b, 'b-tablet'],
      [a, 'a-laptop'],
    ] as const)
      for (const type of ['hangup', 'cancel'] as const)
        expect(await store.transition(call.callId, { type }, { byUserId, clientId })).toMatchObject({
          ok: false,
          code: 'FORBIDDEN',
          message: 'the call is on another device',
          call: { state: 'accepted' },
        });
    expect((await store.get(call.callId))?.state).toBe('accepted');
    expect((await eventsOf(call.callId)).map((e) => e.type)).toEqual(['call.created', 'call.accepted']);
    expect(
      await store.transition(call.callId, { type: 'hangup' }, { byUserId: a, clientId: 'a-phone' }),
    ).toMatchObject({ ok: true, changed: true, call: { endReason: 'hangup', endedBy: a } });
  });

  it('records reject and cancel with their outcomes', async () => {
    const [a, b, c, d] = [...users(), ulid()];
    const r1 = await createRinging(a, b);
    expect(await store.transition(r1.callId, { type: 'reject' }, { byUserId: b })).toMatchObject({
      ok: true,
      call: { endReason: 'rejected', outcome: 'rejected', durationMs: 0 },
    });
    const r2 = await createRinging(c, d);
    expect(await store.transition(r2.callId, { type: 'cancel' }, { byUserId: c })).toMatchObject({
      ok: true,
      call: { endReason: 'cancelled', outcome: 'cancelled' },
    });
  });

  it('refuses outsiders and unknown calls', async () => {
    const [a, b, c] = users();
    const call = await createRinging(a, b);
    expect(await store.transition(call.callId, { type: 'hangup' }, { byUserId: c })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });
    expect(await store.isParticipant(call.callId, c)).toBe(false);
    expect(await store.transition(ulid(), { type: 'hangup' }, { byUserId: a })).toMatchObject({
      ok: false,
      code: 'NOT_FOUND',
    });
  });
});

describe('recordOffer', () => {
  it('records the offering device and refuses another device or the callee', async () => {
    const [a, b] = users();
    const call = await createRinging(a, b);
    const offer = { type: 'offer' as const, sdp: 'v=0' };
    expect(await store.recordOffer(call.callId, { byUserId: a, clientId: 'phone', offer })).toMatchObject({
      ok: true,
      call: { callerClientId: 'phone', offer },
    });
    expect(await store.recordOffer(call.callId, { byUserId: a, clientId: 'phone', offer })).toMatchObject({
      ok: true,
    });
    expect(await store.recordOffer(call.callId, { byUserId: a, clientId: 'tablet', offer })).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
    expect(await store.recordOffer(call.callId, { byUserId: b, clientId: 'x', offer })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });
    expect((await store.get(call.callId))?.offer).toEqual(offer);
  });
});

describe('expireDue', () => {
  it('ends ringing calls past their deadline as no-answer, once, whichever instance runs it', async () => {
    const [a, b] = users();
    const shortStore = createCallStore(redis, { producerSource: 'test-call-state', ringTimeoutMs: 1 });
    const call = (await shortStore.create(input(a, b))) as {
      ok: true;
      call: { callId: string; ringDeadlineMs: number };
    };
    const at = call.call.ringDeadlineMs + 1;
    const other = createCallStore(redis, { producerSource: 'other-instance' });
    const runs = await Promise.all([shortStore.expireDue(at), other.expireDue(at), shortStore.expireDue(at)]);
    const ended = runs.flat().filter((c) => c.callId === call.call.callId);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ state: 'ended', endReason: 'no-answer', outcome: 'missed' });
    expect((await eventsOf(call.call.callId)).filter((e) => e.type === 'call.ended')).toHaveLength(1);
    expect(await redis.zscore(keys.ringDeadlines(), call.call.callId)).toBeNull();
  });

  it('leaves calls before their deadline and answered calls alone', async () => {
    const [a, b, c] = users();
    const ringing = await createRinging(a, b);
    expect((await store.expireDue(ringing.ringDeadlineMs - 1000)).map((x) => x.callId)).not.toContain(
      ringing.callId,
    );
    const d = ulid();
    const answered = await createRinging(c, d);
    await store.transition(answered.callId, { type: 'accept' }, { byUserId: d, clientId: 'x' });
    await store.expireDue(answered.ringDeadlineMs + 1);
    expect((await store.get(answered.callId))?.state).toBe('accepted');
  });

  it('counts live calls by state', async () => {
    const before = await store.countLive();
    const [a, b] = users();
    const call = await createRinging(a, b);
    expect((await store.countLive()).ringing).toBe(before.ringing + 1);
    await store.transition(call.callId, { type: 'accept' }, { byUserId: b, clientId: 'x' });
    const after = await store.countLive();
    expect(after.accepted).toBe(before.accepted + 1);
    expect(after.ringing).toBe(before.ringing);
  });
});

describe('claimRingingNotice', () => {
  it('is true once per ringing call, whoever asks concurrently, and never for a missing or answered call', async () => {
    const [a, b] = users();
    const call = await createRinging(a, b);
    const other = createCallStore(redis, { producerSource: 'other-instance' });
    const claims = await Promise.all([
      store.claimRingingNotice(call.callId),
      other.claimRingingNotice(call.callId),
      store.claimRingingNotice(call.callId),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await store.claimRingingNotice(call.callId)).toBe(false);
    // Not a state change: the compare-and-set version is untouched, so nobody's transition retries.
    expect((await store.get(call.callId))?.rev).toBe(call.rev);

    const [c, d] = users();
    const answered = await createRinging(c, d);
    await store.transition(answered.callId, { type: 'accept' }, { byUserId: d, clientId: 'x' });
    expect(await store.claimRingingNotice(answered.callId)).toBe(false);
    const missing = ulid();
    expect(await store.claimRingingNotice(missing)).toBe(false);
    expect(await redis.exists(keys.call(missing))).toBe(0);
  });
});

describe('reconcileLive', () => {
  async function createAccepted(callerId: string, calleeId: string) {
    const call = await createRinging(callerId, calleeId);
    const offer = { type: 'offer' as const, sdp: 'v=0' };
    await store.recordOffer(call.callId, { byUserId: callerId, clientId: 'caller-phone', offer });
    const t = await store.transition(
      call.callId,
      { type: 'accept' },
      { byUserId: calleeId, clientId: 'callee-phone' },
    );
    if (!t.ok) throw new Error(`accept failed: ${t.code}`);
    return t.call;
  }

  it('drops live-call entries whose record expired, so countLive stops counting them', async () => {
    const [a, b, c] = users();
    const expired = await createAccepted(a, b);
    const kept = await createAccepted(c, ulid());
    // What the record's live TTL does: the record (and the user pointers) vanish, the index entry stays.
    await redis.del(keys.call(expired.callId), keys.userCall(a), keys.userCall(b));
    const before = await store.countLive();

    const r = await store.reconcileLive();
    expect(r.pruned).toBeGreaterThanOrEqual(1);
    expect(r.ended).toEqual([]);
    expect(await redis.zscore(keys.liveCalls(), expired.callId)).toBeNull();
    expect(await redis.zscore(keys.liveCalls(), kept.callId)).not.toBeNull();
    expect((await store.countLive()).accepted).toBe(before.accepted - 1);
    expect((await store.get(kept.callId))?.state).toBe('accepted');
  });

  it('ends an accepted call nobody carries once it stayed so past the grace: once, as connection-lost', async () => {
    const [a, b] = users();
    const call = await createAccepted(a, b);
    const seen: string[][] = [];
    const unattended = async (calls: { callId: string; callerClientId: string | null }[]) => {
      seen.push(calls.map((x) => `${x.callId}/${x.callerClientId}`));
      return calls.map((x) => x.callId === call.callId);
    };
    const carried = async (calls: unknown[]) => calls.map(() => false);
    const t0 = Date.now();
    const grace = 30_000;

    // First sighting marks it; it goes on.
    await store.reconcileLive({ now: t0, unattended, unattendedForMs: grace });
    expect(seen.flat()).toContain(`${call.callId}/caller-phone`);
    expect((await store.get(call.callId))?.state).toBe('accepted');
    // Carried again (a device came back): the mark is cleared, a later sighting starts over.
    await store.reconcileLive({ now: t0 + 1, unattended: carried, unattendedForMs: grace });
    expect(await redis.hget(keys.call(call.callId), 'unattendedSinceMs')).toBeNull();
    await store.reconcileLive({ now: t0 + 2 * grace, unattended, unattendedForMs: grace });
    expect((await store.get(call.callId))?.state).toBe('accepted');
    // Not yet past the grace since that new mark.
    await store.reconcileLive({ now: t0 + 2 * grace + 1, unattended, unattendedForMs: grace });
    expect((await store.get(call.callId))?.state).toBe('accepted');

    // Past it: every instance may run this at once; the call ends exactly once.
    const other = createCallStore(redis, { producerSource: 'other-instance' });
    const at = t0 + 3 * grace + 1;
    const runs = await Promise.all([
      store.reconcileLive({ now: at, unattended, unattendedForMs: grace }),
      other.reconcileLive({ now: at, unattended, unattendedForMs: grace }),
    ]);
    const ended = runs.flatMap((r) => r.ended).filter((x) => x.callId === call.callId);
    expect(ended).toHaveLength(1);
    expect(ended[0]).toMatchObject({ state: 'ended', endReason: 'connection-lost', outcome: 'answered' });
    const endEvents = (await eventsOf(call.callId)).filter((e) => e.type === 'call.ended');
    expect(endEvents).toHaveLength(1);
    expect(endEvents[0]?.data).toMatchObject({ endReason: 'connection-lost', endedBy: null });
    expect(await redis.zscore(keys.liveCalls(), call.callId)).toBeNull();
    expect(await store.activeCallOf(a)).toBeNull();
  });
});
