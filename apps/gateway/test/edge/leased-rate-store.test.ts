// The leased rate-limit store against the real Redis of the test run: one budget per key shared by
// every instance, never exceeded, with far fewer Redis commands than requests.
import { randomUUID } from 'node:crypto';
import type { FastifyRateLimitStore } from '@fastify/rate-limit';
import { redisUrl } from '@voip/testkit/env';
import { freePort } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leasedRateStore, leaseSize } from '../../src/edge/leased-rate-store.js';

interface Hit {
  current: number;
  ttl: number;
}

const hit = (store: FastifyRateLimitStore, key: string, max: number, windowMs = 60_000) =>
  new Promise<Hit>((resolve, reject) =>
    store.incr(key, (err, res) => (err || !res ? reject(err ?? new Error('no result')) : resolve(res)), windowMs, max),
  );

describe('leasedRateStore', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
  });

  /** A gateway instance's store (each call is another instance: its own leases, the same Redis). */
  const instance = (prefix: string) => {
    const stats = { claims: 0 };
    const Store = leasedRateStore({ redis, prefix, onClaim: () => stats.claims++ });
    return { store: new Store({}), stats };
  };
  const prefix = () => `voip:rl:test-${randomUUID()}:`;

  it('lets exactly max requests through on one instance, with a fraction of the Redis commands', async () => {
    const { store, stats } = instance(prefix());
    const results: Hit[] = [];
    for (let i = 0; i < 101; i++) results.push(await hit(store, 'user:a', 100));
    expect(results.filter((r) => r.current <= 100)).toHaveLength(100);
    expect(results.map((r) => r.current).slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const refused = results[100]!;
    expect(refused.current).toBeGreaterThan(100);
    expect(refused.ttl).toBeGreaterThan(0);
    expect(refused.ttl).toBeLessThanOrEqual(60_000);
    expect(stats.claims).toBeLessThan(50);
  });

  it('gives concurrent requests of one key distinct units and never more than max', async () => {
    const { store } = instance(prefix());
    const results = await Promise.all(Array.from({ length: 200 }, () => hit(store, 'ip:1.2.3.4', 100)));
    const allowed = results.filter((r) => r.current <= 100).map((r) => r.current);
    expect(allowed).toHaveLength(100);
    expect(new Set(allowed).size).toBe(100);
  });

  it('shares one budget between instances: the total passed is max, never more', async () => {
    const p = prefix();
    const instances = [instance(p), instance(p), instance(p)];
    const results = await Promise.all(
      Array.from({ length: 300 }, (_, i) => hit(instances[i % 3]!.store, 'user:shared', 50)),
    );
    expect(results.filter((r) => r.current <= 50)).toHaveLength(50);
    // And what one instance sees as spent, another refuses without a budget of its own.
    const late = instance(p);
    expect((await hit(late.store, 'user:shared', 50)).current).toBeGreaterThan(50);
  });

  it('counts each key on its own', async () => {
    const { store } = instance(prefix());
    for (let i = 0; i < 3; i++) await hit(store, 'user:x', 3);
    expect((await hit(store, 'user:x', 3)).current).toBe(4);
    expect((await hit(store, 'user:y', 3)).current).toBe(1);
  });

  it('opens a new window when the old one ends', async () => {
    const { store } = instance(prefix());
    for (let i = 0; i < 3; i++) await hit(store, 'ip:w', 3, 300);
    const refused = await hit(store, 'ip:w', 3, 300);
    expect(refused.current).toBe(4);
    await new Promise((r) => setTimeout(r, refused.ttl + 30));
    expect((await hit(store, 'ip:w', 3, 300)).current).toBe(1);
  });

  it('keeps the window in Redis with its expiry, under the given prefix', async () => {
    const p = prefix();
    const { store } = instance(p);
    await hit(store, 'user:k', 600);
    expect(Number(await redis.get(`${p}user:k`))).toBeGreaterThanOrEqual(1);
    const ttl = await redis.pttl(`${p}user:k`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('fails the request when Redis cannot be reached, rather than letting it through unlimited', async () => {
    const down = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    down.on('error', () => {});
    const Store = leasedRateStore({ redis: down, prefix: prefix() });
    await expect(hit(new Store({}), 'user:z', 10)).rejects.toThrow();
    down.disconnect();
  });
});

describe('leaseSize', () => {
  it('takes a slice of what is left, capped, and one at a time near the limit', () => {
    expect(leaseSize(600, 0, 64, 8)).toBe(64);
    expect(leaseSize(600, 300, 64, 8)).toBe(37);
    expect(leaseSize(600, 590, 64, 8)).toBe(1);
    expect(leaseSize(20, 0, 64, 8)).toBe(2);
    expect(leaseSize(2, 0, 64, 8)).toBe(1);
    expect(leaseSize(10, 12, 64, 8)).toBe(1);
  });
});
