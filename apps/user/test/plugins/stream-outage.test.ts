// A database outage while accounts are created and calls end loses nothing from the user service's
// consumers: both pause (/ready says why), spend no deliveries, dead-letter nothing, and apply every
// event when MongoDB is back. Its own MongoDB-compatible server (stopped and started on the same port)
// and its own Redis database, so its consumer groups take nothing from stream-consumers.test.ts.
import { createStreamProducer } from '@voip/bus/streams';
import { streams } from '@voip/contracts/redis-keys';
import { redisUrl } from '@voip/testkit/env';
import { freePort, type RunningServer, startMongo, uniqueName } from '@voip/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, newId, startUserService, type TestService } from '../harness.js';

describe('stream consumers through a database outage', () => {
  let svc: TestService;
  let mongo: RunningServer | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    mongo = await startMongo({ port });
    const url = new URL(redisUrl());
    url.pathname = '/14';
    svc = await startUserService({
      STREAM_CONSUMERS: 'true',
      REDIS_URL: url.toString(),
      MONGODB_URI: `mongodb://127.0.0.1:${port}/${uniqueName('outage')}`,
      STREAM_BLOCK_MS: '50',
      STREAM_CLAIM_IDLE_MS: '200',
      STREAM_MAX_DELIVERIES: '1',
      STREAM_OUTAGE_RETRY_MS: '50',
      STREAM_OUTAGE_RETRY_MAX_MS: '400',
    });
    await svc.app.redis.flushdb();
  }, 60_000);
  afterAll(async () => {
    await svc?.app.close();
    await mongo?.stop();
  });

  const ready = async () => {
    const res = await svc.app.inject({ url: '/ready' });
    return { status: res.statusCode, checks: res.json().checks as Record<string, string> };
  };

  it('pauses while MongoDB is down and applies every account and call event when it is back', async () => {
    const { app } = svc;
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 'ready', 30_000);
    await mongo!.stop();
    mongo = undefined;

    const producer = createStreamProducer(app.redis, 'test-producer');
    const userId = newId();
    const callerId = newId();
    const calleeId = newId();
    const callId = newId();
    await producer.append(streams.accountEvents, 'user.registered', {
      userId,
      username: `u${userId.slice(-8).toLowerCase()}`,
      displayName: 'Registered During Outage',
      createdAt: new Date().toISOString(),
    });
    await producer.append(streams.callEvents, 'call.ended', {
      callId,
      callerId,
      calleeId,
      media: 'audio',
      outcome: 'answered',
      endReason: 'hangup',
      createdAt: '2025-03-01T10:00:00.000Z',
      answeredAt: '2025-03-01T10:00:05.000Z',
      endedAt: '2025-03-01T10:01:05.000Z',
      durationMs: 60_000,
      endedBy: callerId,
    });

    await eventually(
      async () => {
        const r = await ready();
        return r.checks['account-events-consumer'] === 'paused: mongo unavailable' &&
          r.checks['sync-consumer'] === 'paused: mongo unavailable'
          ? r
          : undefined;
      },
      'both consumers paused',
      30_000,
    );
    // Many claim-idle periods (200 ms) × STREAM_MAX_DELIVERIES (1), and room for each entry to fail twice
    // even when every try waits out the driver's server selection (3 s).
    await new Promise((r) => setTimeout(r, 10_000));
    expect(await app.redis.xlen(streams.deadLetter)).toBe(0);

    mongo = await startMongo({ port });
    await eventually(async () => ((await ready()).status === 200 ? true : undefined), 'ready again', 60_000);
    await eventually(
      async () => ((await app.domain.profiles.get(userId)) ? true : undefined),
      'the profile',
      60_000,
    );
    for (const id of [callerId, calleeId])
      await eventually(
        async () => ((await app.domain.changes.has(id, 'call', callId)) ? true : undefined),
        `the call in ${id}'s feed`,
        60_000,
      );
    expect(await app.redis.xlen(streams.deadLetter)).toBe(0);
  }, 180_000);
});
