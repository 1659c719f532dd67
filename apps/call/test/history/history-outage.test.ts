// A database outage while calls end loses no history: the history consumer pauses (/ready says why),
// retries without spending deliveries, dead-letters nothing, and writes every record when MongoDB is back.
// Its own MongoDB-compatible server on a fixed port, stopped and started again by the test.
import { createStreamProducer } from '@voip/bus/streams';
import { streams } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { freePort, type RunningServer, startMongo, uniqueName } from '@voip/testkit/servers';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  callEnv,
  connectRedis,
  eventually,
  newId,
  signIn,
  startCallService,
} from '../support/harness.js';

const DB = 12;

describe('call history through a database outage', () => {
  let redis: Redis;
  let mongo: RunningServer | undefined;
  let port: number;
  let app: App | undefined;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    redis = await connectRedis(DB);
    await redis.flushdb();
    port = await freePort();
    mongo = await startMongo({ port });
    alice = await signIn(redis, 'user', 'Alice');
    bob = await signIn(redis, 'user', 'Bob');
    app = await startCallService(
      callEnv(DB, {
        MONGODB_URI: `mongodb://127.0.0.1:${port}/${uniqueName('outage')}`,
        HISTORY_CLAIM_IDLE_MS: '200',
        HISTORY_MAX_DELIVERIES: '1',
        STREAM_OUTAGE_RETRY_MS: '50',
        STREAM_OUTAGE_RETRY_MAX_MS: '400',
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await mongo?.stop();
    await redis?.quit();
  });

  const ready = async (a: App) => {
    const res = await a.inject({ url: '/ready' });
    return { status: res.statusCode, checks: res.json().checks as Record<string, string> };
  };

  it('pauses while MongoDB is down, dead-letters nothing, and records every call when it is back', async () => {
    const a = app!;
    await eventually(async () => (await ready(a)).status === 200, 20_000);
    await mongo!.stop();
    mongo = undefined;

    const producer = createStreamProducer(redis, 'test-signaling');
    const callIds = [newId(), newId()];
    const entryIds: string[] = [];
    for (const callId of callIds) {
      const createdAt = new Date(Date.now() - 60_000).toISOString();
      const { entryId } = await producer.append(streams.callEvents, 'call.ended', {
        callId,
        callerId: alice.id,
        calleeId: bob.id,
        media: 'audio',
        outcome: 'answered',
        endReason: 'hangup',
        createdAt,
        answeredAt: createdAt,
        endedAt: new Date().toISOString(),
        durationMs: 60_000,
        endedBy: alice.id,
      });
      entryIds.push(entryId);
    }

    await eventually(async () => {
      const r = await ready(a);
      expect(r.status).toBe(503);
      expect(r.checks['history-consumer']).toBe('paused: mongo unavailable');
      return true;
    }, 30_000);
    // Down for many claim-idle periods (200 ms) × HISTORY_MAX_DELIVERIES (1), and long enough for every
    // entry to fail twice even when each try waits out the driver's server selection (3 s).
    await new Promise((r) => setTimeout(r, 10_000));
    const letters = await redis.xrange(streams.deadLetter, '-', '+');
    expect(letters.filter(([, f]) => entryIds.includes(f[f.indexOf('entryId') + 1]!))).toEqual([]);

    mongo = await startMongo({ port });
    await eventually(async () => (await ready(a)).status === 200, 60_000);
    const history = await eventually(async () => {
      const res = await a.inject({ url: '/api/calls?limit=100', headers: alice.headers });
      expect(res.statusCode).toBe(200);
      const ids = (res.json().items as Array<{ callId: string }>).map((i) => i.callId);
      expect(ids.filter((id) => callIds.includes(id)).sort()).toEqual([...callIds].sort());
      return ids;
    }, 60_000);
    expect(history).toHaveLength(callIds.length);
    expect(await redis.exists(streams.deadLetter)).toBe(0);
  }, 180_000);
});
