// The only test file that runs the stream consumers: the streams are Redis keys shared by every test
// file of the run, so one consumer group member per stream keeps deliveries where they are expected.
import { createStreamProducer, type StreamProducer } from '@voip/bus/streams';
import type { BusEventData } from '@voip/contracts/bus-events';
import { streams } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_EVENTS_GROUP, CALL_EVENTS_GROUP } from '../../src/plugins/stream-consumers.js';
import { drainSync, eventually, newId, startUserService, type TestService, withProfile } from '../harness.js';

describe('stream consumers', () => {
  let svc: TestService;
  let producer: StreamProducer;
  beforeAll(async () => {
    // One sync consumer: the tests below tell "everything before it was handled" by a marker entry, which
    // holds only for entries handled in stream order (SYNC_CONSUMERS > 1 handles calls concurrently; the
    // pool itself is tested in packages/bus, concurrent deliveries of one call in test/routes/sync.test.ts).
    svc = await startUserService({ STREAM_CONSUMERS: 'true', SYNC_CONSUMERS: '1' });
    producer = createStreamProducer(svc.app.redis, 'test-producer');
  });
  afterAll(() => svc.app.close());

  it('read the account stream in group "user-service" and the call stream in group "user-sync"', async () => {
    await producer.append(streams.accountEvents, 'guest.created', {
      guestId: newId(),
      displayName: 'Warm-up',
      createdAt: new Date().toISOString(),
    });
    const groups = async (stream: string) =>
      ((await svc.app.redis.xinfo('GROUPS', stream)) as unknown[][]).map((g) => g[1]);
    await eventually(
      async () => ((await groups(streams.accountEvents)).includes(ACCOUNT_EVENTS_GROUP) ? true : undefined),
      'account group',
    );
    await eventually(
      async () => ((await groups(streams.callEvents)).includes(CALL_EVENTS_GROUP) ? true : undefined),
      'call group',
    );
  });

  it('create profiles from user.registered and guest.created, once even when re-sent', async () => {
    const userId = newId();
    const guestId = newId();
    const registered = {
      userId,
      username: 'streamed',
      displayName: 'Streamed User',
      createdAt: new Date().toISOString(),
    };
    await producer.append(streams.accountEvents, 'user.registered', registered);
    await producer.append(streams.accountEvents, 'user.registered', registered);
    await producer.append(streams.accountEvents, 'guest.created', {
      guestId,
      displayName: 'Streamed Guest',
      createdAt: new Date().toISOString(),
    });
    const guest = await eventually(
      async () => (await svc.app.domain.profiles.get(guestId)) ?? undefined,
      'guest profile',
    );
    expect(guest.kind).toBe('guest');
    expect(await svc.app.domain.profiles.get(userId)).toMatchObject({
      username: 'streamed',
      displayName: 'Streamed User',
    });
    expect(await svc.app.domain.profiles.model.countDocuments({ _id: userId })).toBe(1);

    await producer.append(streams.accountEvents, 'guest.deleted', { guestIds: [guestId] });
    await eventually(
      async () => ((await svc.app.domain.profiles.get(guestId)) === null ? true : undefined),
      'guest removal',
    );
  });

  it('skip a malformed entry and keep going: it is dead-lettered and acked, not left pending', async () => {
    const badId = await svc.app.redis.xadd(streams.accountEvents, '*', 'envelope', '{"not":"an envelope"}');
    if (!badId) throw new Error('XADD returned no id');
    const guestId = newId();
    await producer.append(streams.accountEvents, 'guest.created', {
      guestId,
      displayName: 'After Junk',
      createdAt: new Date().toISOString(),
    });
    await eventually(
      async () => (await svc.app.domain.profiles.get(guestId)) ?? undefined,
      'profile after a bad entry',
    );
    // Entries are handled in order, and a bad one is dead-lettered and acked in one MULTI before the
    // next is read: by now both have happened.
    expect(
      await svc.app.redis.xpending(streams.accountEvents, ACCOUNT_EVENTS_GROUP, badId, badId, 10),
    ).toEqual([]);
    const letters = (await svc.app.redis.xrange(streams.deadLetter, '-', '+')).map(([, f]) => {
      const o: Record<string, string> = {};
      for (let i = 0; i + 1 < f.length; i += 2) o[f[i]!] = f[i + 1]!;
      return o;
    });
    expect(letters.filter((l) => l.entryId === badId)).toEqual([
      expect.objectContaining({
        reason: 'invalid-envelope',
        stream: streams.accountEvents,
        group: ACCOUNT_EVENTS_GROUP,
        raw: '{"not":"an envelope"}',
      }),
    ]);
  });

  it("record call.ended in both participants' sync feeds, once per call", async () => {
    const caller = await withProfile(svc.app);
    const callee = await withProfile(svc.app);
    const call: BusEventData<'call.ended'> = {
      callId: newId(),
      callerId: caller.id,
      calleeId: callee.id,
      media: 'video',
      outcome: 'answered',
      endReason: 'hangup',
      createdAt: '2025-03-01T10:00:00.000Z',
      answeredAt: '2025-03-01T10:00:05.000Z',
      endedAt: '2025-03-01T10:01:05.000Z',
      durationMs: 60_000,
      endedBy: caller.id,
    };
    await producer.append(streams.callEvents, 'call.ended', call);
    await producer.append(streams.callEvents, 'call.ended', call);
    const marker = newId();
    await producer.append(streams.callEvents, 'call.ended', { ...call, callId: marker });
    // Entries are handled in order: once the marker call is there, both copies of the first were handled.
    await eventually(
      async () => ((await svc.app.domain.changes.has(callee.id, 'call', marker)) ? true : undefined),
      'call entries',
    );

    const callerFeed = (await drainSync(svc.app, caller)).changes.filter((c) => c.entity === 'call');
    const calleeFeed = (await drainSync(svc.app, callee)).changes.filter((c) => c.entity === 'call');
    expect(callerFeed.map((c) => c.id)).toEqual([call.callId, marker]);
    expect(calleeFeed.map((c) => c.id)).toEqual([call.callId, marker]);
    expect(callerFeed[0]).toEqual({
      entity: 'call',
      op: 'upsert',
      id: call.callId,
      at: expect.any(String),
      data: {
        callId: call.callId,
        direction: 'outgoing',
        peerId: callee.id,
        media: 'video',
        outcome: 'answered',
        startedAt: call.createdAt,
        answeredAt: call.answeredAt,
        endedAt: call.endedAt,
        durationMs: 60_000,
        endReason: 'hangup',
      },
    });
    expect(calleeFeed[0]?.data).toMatchObject({ direction: 'incoming', peerId: caller.id });
  });
});
