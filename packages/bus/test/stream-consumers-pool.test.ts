// Several consumers of one group in one process (createStreamConsumers): handlers run concurrently,
// every entry is handled once, and the pool reads as one consumer (stats summed, paused while any is).
import { redisUrl } from '@voip/testkit/env';
import { uniqueName } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createStreamConsumers, createStreamProducer, DependencyUnavailableError } from '../src/streams.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(async () => {
  await redis.quit();
});

const registered = (n: number) => ({
  userId: ulid(),
  username: `user${n}`,
  displayName: `User ${n}`,
  createdAt: new Date().toISOString(),
});

describe('createStreamConsumers', () => {
  it('handles a backlog with several handlers in flight, each entry once', async () => {
    const stream = `voip:test:stream:${uniqueName('pool')}`;
    const producer = createStreamProducer(redis, 'test');
    for (let i = 0; i < 40; i++) await producer.append(stream, 'user.registered', registered(i));
    const seen: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const pool = createStreamConsumers({
      redis,
      stream,
      group: 'g',
      consumer: 'c',
      count: 4,
      batch: 4,
      blockMs: 50,
      handlers: {
        'user.registered': async (e) => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setTimeout(r, 20));
          seen.push(e.data.userId);
          inFlight--;
        },
      },
    });
    pool.start();
    try {
      await vi.waitFor(() => expect(pool.stats.processed).toBe(40), { timeout: 15_000, interval: 20 });
      expect(new Set(seen).size).toBe(40);
      expect(seen).toHaveLength(40);
      expect(maxInFlight).toBeGreaterThan(1);
      expect(pool.status.state).toBe('running');
    } finally {
      await pool.stop({ timeoutMs: 1000 });
    }
    expect(pool.status.state).toBe('stopped');
  });

  it('reads as paused while one of its consumers is held by an outage', async () => {
    const stream = `voip:test:stream:${uniqueName('pool')}`;
    const producer = createStreamProducer(redis, 'test');
    let down = true;
    const pool = createStreamConsumers({
      redis,
      stream,
      group: 'g',
      consumer: 'c',
      count: 3,
      blockMs: 50,
      outageRetryMs: 50,
      outageRetryMaxMs: 100,
      handlers: {
        'user.registered': async () => {
          if (down) throw new DependencyUnavailableError('mongo');
        },
      },
    });
    pool.start();
    try {
      await producer.append(stream, 'user.registered', registered(1));
      await vi.waitFor(
        () => expect(pool.status).toMatchObject({ state: 'paused', reason: 'paused: mongo unavailable' }),
        {
          timeout: 10_000,
          interval: 20,
        },
      );
      down = false;
      await vi.waitFor(() => expect(pool.stats.processed).toBe(1), { timeout: 10_000, interval: 20 });
      expect(pool.status.state).toBe('running');
    } finally {
      await pool.stop({ timeoutMs: 1000 });
    }
  });
});
