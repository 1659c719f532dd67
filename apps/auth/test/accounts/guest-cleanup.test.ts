import { createPublisher } from '@voip/bus/pubsub';
import { createStreamProducer } from '@voip/bus/streams';
import { keys } from '@voip/contracts/redis-keys';
import { createTokenSigner } from '@voip/kit/jwt';
import { createLogger } from '@voip/kit/logger';
import { createMongoConnection } from '@voip/kit/mongo';
import { createRedis } from '@voip/kit/redis';
import { createSessionChecker } from '@voip/kit/sessions';
import { mongoUri, redisUrl, testKeys } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountEvents } from '../../src/accounts/account-events.js';
import { deleteGuests, type GuestCleanupDeps } from '../../src/accounts/guest-cleanup.js';
import { createGuestRepository } from '../../src/accounts/guest-repository.js';
import { createSessionService } from '../../src/sessions/session-service.js';
import { createSessionStore } from '../../src/sessions/session-store.js';
import { accountEvents } from '../helpers.js';

describe('guest clean-up in batches (real Redis and Mongo)', () => {
  let redis: Redis;
  let conn: Connection;
  let deps: GuestCleanupDeps;
  const log = createLogger('auth-test', 'silent');
  beforeAll(async () => {
    redis = createRedis(redisUrl());
    await redis.connect();
    conn = createMongoConnection(mongoUri());
    await conn.asPromise();
    deps = {
      guests: createGuestRepository(conn),
      events: createAccountEvents(createStreamProducer(redis, 'cleanup-test')),
      sessions: createSessionService({
        store: createSessionStore(redis, { ttlSeconds: 600 }),
        signer: createTokenSigner(testKeys().privateKey),
        accessTtlSeconds: 60,
        checker: createSessionChecker(redis),
        bus: createPublisher(redis, 'cleanup-test'),
      }),
    };
  });
  afterAll(async () => {
    await conn.close();
    await redis.quit();
  });

  it('deletes every matching guest over several batches, one guest.deleted per batch', async () => {
    const old = new Date('2023-01-01T00:00:00Z');
    const ids: string[] = [];
    const sids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = ulid();
      ids.push(id);
      await deps.guests.insert({ id, displayName: `g${i}`, createdAt: old, lastSeenAt: old });
      sids.push((await deps.sessions.issue({ userId: id, kind: 'guest', displayName: `g${i}` })).sessionId);
    }
    const keep = ulid();
    await deps.guests.insert({
      id: keep,
      displayName: 'keep',
      createdAt: new Date(),
      lastSeenAt: new Date(),
    });

    expect(await deleteGuests(deps, { lastSeenBefore: new Date('2024-01-01T00:00:00Z') }, log, 2)).toBe(5);

    expect(await deps.guests.findById(keep)).not.toBeNull();
    for (const id of ids) expect(await deps.guests.findById(id)).toBeNull();
    for (const sid of sids) expect(await redis.exists(keys.session(sid))).toBe(0);
    const batches = (await accountEvents(redis)).filter(
      (e) => e.type === 'guest.deleted' && (e.data.guestIds as string[]).some((id) => ids.includes(id)),
    );
    expect(batches.map((b) => (b.data.guestIds as string[]).length)).toEqual([2, 2, 1]);
    expect(batches.flatMap((b) => b.data.guestIds as string[]).sort()).toEqual([...ids].sort());
  });
});
