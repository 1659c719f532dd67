import { ENTRY_FIELD, streamBacklog } from '@voip/bus/streams';
import { createCallStore } from '@voip/call-state/call-store';
import { streams } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HISTORY_GROUP } from '../../src/history/history-consumer.js';
import { callCreatedOf } from '../../src/history/call-repository.js';
import {
  type Account,
  callEnv,
  connectRedis,
  eventually,
  signIn,
  startCallService,
} from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 4;

/** The history consumer's group has handled everything on the stream. */
async function drained(redis: Redis) {
  const b = await streamBacklog(redis, streams.callEvents, HISTORY_GROUP);
  return b.exists && b.pending === 0 && b.lag === 0;
}

describe('call history from the call-events stream', () => {
  let users: UserServiceStandIn;
  let redis: Redis;
  let env: NodeJS.ProcessEnv;
  let app: App | undefined;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    redis = await connectRedis(DB);
    await redis.flushdb();
    env = callEnv(DB, { USER_SERVICE_URL: users.url, RING_TIMEOUT_MS: '1000' });
    alice = await signIn(redis, 'user', 'Alice');
    bob = await signIn(redis, 'user', 'Bob');
    users.users.set(alice.id, { displayName: 'Alice' });
    users.users.set(bob.id, { displayName: 'Bob' });
  });
  afterAll(async () => {
    await app?.close();
    await redis?.quit();
    await users?.close();
  });

  const start = async () => {
    app = await startCallService(env);
    return app;
  };
  const history = async (a: App, who: Account) => {
    const res = await a.inject({ url: '/api/calls?limit=100', headers: who.headers });
    expect(res.statusCode).toBe(200);
    return res.json().items as Array<Record<string, unknown>>;
  };
  const initiate = async (a: App, from: Account, to: Account) => {
    const res = await a.inject({
      method: 'POST',
      url: '/api/calls',
      headers: from.headers,
      payload: { calleeId: to.id, media: 'audio' },
    });
    expect(res.statusCode).toBe(201);
    return res.json().callId as string;
  };

  it('records a call that rang out as missed for the callee (and outgoing, unanswered, for the caller)', async () => {
    const a = await start();
    const callId = await initiate(a, alice, bob);
    // The ring deadline is 1 s away: sweep as if it had passed, like any instance's ring wheel would.
    const ended = await a.callService.store.expireDue(Date.now() + 5000);
    expect(ended.map((c) => c.callId)).toContain(callId);

    const bobs = await eventually(async () => (await history(a, bob)).find((i) => i.callId === callId));
    expect(bobs).toMatchObject({
      direction: 'incoming',
      peerId: alice.id,
      outcome: 'missed',
      endReason: 'no-answer',
      answeredAt: null,
      durationMs: 0,
    });
    const alices = (await history(a, alice)).find((i) => i.callId === callId);
    expect(alices).toMatchObject({
      direction: 'outgoing',
      peerId: bob.id,
      outcome: 'missed',
      endReason: 'no-answer',
    });
    await a.close();
    app = undefined;
  });

  it('records calls that ended while the service was down once it is back, each exactly once', async () => {
    const a = await start();
    const answeredId = await initiate(a, alice, bob);
    await a.close();
    app = undefined;

    // Signaling carries on while the call service is down: the call is answered and hung up.
    const store = createCallStore(redis, { producerSource: 'signaling-test' });
    expect(
      (await store.transition(answeredId, { type: 'accept' }, { byUserId: bob.id, clientId: 'bob-phone' }))
        .ok,
    ).toBe(true);
    expect((await store.transition(answeredId, { type: 'hangup' }, { byUserId: alice.id })).ok).toBe(true);
    // And a second call is placed and declined.
    const created = await store.create({
      callerId: bob.id,
      callerKind: 'user',
      callerName: 'Bob',
      calleeId: alice.id,
      media: 'video',
    });
    if (!created.ok) throw new Error(created.message);
    const rejectedId = created.call.callId;
    expect((await store.transition(rejectedId, { type: 'reject' }, { byUserId: alice.id })).ok).toBe(true);

    // A re-delivery: the same call.ended envelope appended again (as after a crash before the ack).
    const entries = await redis.xrange(streams.callEvents, '-', '+');
    const endedEntry = entries.find(([, f]) => f[1]?.includes('"call.ended"') && f[1].includes(answeredId));
    expect(endedEntry).toBeDefined();
    await redis.xadd(streams.callEvents, '*', ENTRY_FIELD, endedEntry![1][1]!);

    const b = await start();
    await eventually(() => drained(redis));
    const items = (await history(b, alice)).filter((i) => i.callId === answeredId || i.callId === rejectedId);
    expect(items).toHaveLength(2);
    expect(items.find((i) => i.callId === answeredId)).toMatchObject({
      direction: 'outgoing',
      outcome: 'answered',
      endReason: 'hangup',
    });
    expect(items.find((i) => i.callId === rejectedId)).toMatchObject({
      direction: 'incoming',
      outcome: 'rejected',
      endReason: 'rejected',
      media: 'video',
    });
    expect(await b.callService.calls.model.countDocuments({ _id: answeredId })).toBe(1);

    // Re-delivered once more, after it was recorded: nothing changes.
    const recorded = await b.callService.calls.findForParticipant(answeredId, alice.id);
    await redis.xadd(streams.callEvents, '*', ENTRY_FIELD, endedEntry![1][1]!);
    await eventually(() => drained(redis));
    const again = await b.callService.calls.findForParticipant(answeredId, alice.id);
    expect(again?.recordedAt?.getTime()).toBe(recorded?.recordedAt?.getTime());
    expect(again).toEqual(recorded);
  });

  it('sends a poison entry to the dead-letter stream and keeps recording what follows', async () => {
    const a = app ?? (await start());
    const before = await redis.xlen(streams.deadLetter);
    const poisonId = await redis.xadd(streams.callEvents, '*', ENTRY_FIELD, '{this is not json');
    const invalidData = JSON.stringify({
      v: 1,
      type: 'call.ended',
      id: 'X1',
      source: 'test',
      at: new Date().toISOString(),
      data: { callId: 42 },
    });
    const invalidId = await redis.xadd(streams.callEvents, '*', ENTRY_FIELD, invalidData);

    const callId = await initiate(a, bob, alice);
    expect((await a.callService.store.transition(callId, { type: 'cancel' }, { byUserId: bob.id })).ok).toBe(
      true,
    );

    const letters = await eventually(async () => {
      const rows = await redis.xrange(streams.deadLetter, '-', '+');
      return rows.length >= before + 2 ? rows : undefined;
    });
    const byEntry = new Map(
      letters.map(([, f]) => {
        const o: Record<string, string> = {};
        for (let i = 0; i + 1 < f.length; i += 2) o[f[i]!] = f[i + 1]!;
        return [o.entryId, o] as const;
      }),
    );
    expect(byEntry.get(poisonId!)).toMatchObject({ reason: 'invalid-json', group: HISTORY_GROUP });
    expect(byEntry.get(invalidId!)).toMatchObject({ reason: 'invalid-data', group: HISTORY_GROUP });

    // The callee of a call the caller cancelled while it rang missed it; the caller cancelled it.
    const alices = await eventually(async () => (await history(a, alice)).find((i) => i.callId === callId));
    expect(alices).toMatchObject({ direction: 'incoming', outcome: 'missed', endReason: 'cancelled' });
    expect((await history(a, bob)).find((i) => i.callId === callId)).toMatchObject({
      direction: 'outgoing',
      outcome: 'cancelled',
    });
    await eventually(() => drained(redis));
  });

  it("settles a push still pending at the call's end as failed, and leaves sent, failed and none alone", async () => {
    const a = app ?? (await start());
    // Calls placed by an instance that then died: it wrote each record with its push state, and for the
    // first never got to record the push outcome.
    const store = createCallStore(redis, { producerSource: 'dead-instance' });
    const pushes = ['pending', 'sent', 'failed', 'none'] as const;
    const callIds: string[] = [];
    for (const push of pushes) {
      const created = await store.create({
        callerId: alice.id,
        callerKind: 'user',
        callerName: 'Alice',
        calleeId: bob.id,
        media: 'audio',
      });
      if (!created.ok) throw new Error(created.message);
      const c = created.call;
      await a.callService.calls.recordCreated(callCreatedOf(c, push === 'none' ? 'none' : 'pending'));
      if (push === 'sent' || push === 'failed') await a.callService.calls.setPush(c.callId, push);
      expect((await store.transition(c.callId, { type: 'cancel' }, { byUserId: alice.id })).ok).toBe(true);
      callIds.push(c.callId);
    }

    await eventually(() => drained(redis));
    const recorded = await Promise.all(
      callIds.map((id) => a.callService.calls.findForParticipant(id, bob.id)),
    );
    expect(recorded.map((r) => [r?.state, r?.push])).toEqual([
      ['ended', 'failed'],
      ['ended', 'sent'],
      ['ended', 'failed'],
      ['ended', 'none'],
    ]);
    const view = await a.inject({ url: `/api/calls/${callIds[0]}`, headers: alice.headers });
    expect(view.json()).toMatchObject({ state: 'ended', push: 'failed' });
  });
});
