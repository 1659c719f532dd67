import { randomUUID } from 'node:crypto';
import { keys } from '@voip/contracts/redis-keys';
import { redisUrl } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { AppError } from '../src/errors.js';
import { createFixedWindowLimiter, hitAllOrNone } from '../src/rate-limit.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(() => redis.quit());

describe('fixed-window limiter', () => {
  it('allows `limit` hits per window per id, then says how long to wait', async () => {
    const scope = `login-${randomUUID()}`;
    const limiter = createFixedWindowLimiter(redis, scope, 3, 60_000);
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await limiter.hit('1.2.3.4'));
    expect(decisions.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    expect(decisions[3]!.retryAfterMs).toBeGreaterThan(0);
    expect(decisions[3]!.retryAfterMs).toBeLessThanOrEqual(60_000);
    // Other ids have their own window; peek does not count.
    expect((await limiter.hit('5.6.7.8')).allowed).toBe(true);
    expect((await limiter.peek('1.2.3.4')).allowed).toBe(false);
    expect(await redis.get(keys.rateLimit(scope, '1.2.3.4'))).toBe('4');
    await limiter.reset('1.2.3.4');
    expect((await limiter.hit('1.2.3.4')).allowed).toBe(true);
  });

  it('hitAllOrNone counts on every window or, once one is full, on none', async () => {
    const scope = `all-${randomUUID()}`;
    const windows = [
      { scope, id: 'tight', limit: 2 },
      { scope, id: 'loose', limit: 10 },
    ];
    const allowed = async () => (await hitAllOrNone(redis, windows, 60_000)).map((d) => d.allowed);
    expect(await allowed()).toEqual([true, true]);
    expect(await allowed()).toEqual([true, true]);
    // The tight window is full: refused, naming it alone, and the loose one is not counted.
    for (let i = 0; i < 5; i++) expect(await allowed()).toEqual([false, true]);
    expect(await redis.get(keys.rateLimit(scope, 'tight'))).toBe('2');
    expect(await redis.get(keys.rateLimit(scope, 'loose'))).toBe('2');
    const [tight] = await hitAllOrNone(redis, windows, 60_000);
    expect(tight?.retryAfterMs).toBeGreaterThan(0);
    expect(tight?.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await redis.pttl(keys.rateLimit(scope, 'loose'))).toBeGreaterThan(0);
  });

  it('opens again once the window has passed, and the key expires', async () => {
    const scope = `burst-${randomUUID()}`;
    const limiter = createFixedWindowLimiter(redis, scope, 1, 200);
    expect((await limiter.hit('u')).allowed).toBe(true);
    expect((await limiter.hit('u')).allowed).toBe(false);
    const ttl = await redis.pttl(keys.rateLimit(scope, 'u'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(200);
    for (let i = 0; i < 100 && !(await limiter.peek('u')).allowed; i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await redis.exists(keys.rateLimit(scope, 'u'))).toBe(0);
    expect((await limiter.hit('u')).allowed).toBe(true);
  });

  it('turns into 429 RATE_LIMITED with Retry-After on a route', async () => {
    const limiter = createFixedWindowLimiter(redis, `route-${randomUUID()}`, 1, 60_000);
    const app = createApp({ service: 'rl-test', logLevel: 'silent' });
    app.get('/limited', async (request, reply) => {
      const d = await limiter.hit(request.ip);
      if (!d.allowed) {
        reply.header('retry-after', String(Math.ceil(d.retryAfterMs / 1000)));
        throw new AppError('RATE_LIMITED', 'too many requests');
      }
      return { ok: true };
    });
    app.get('/limited-no-header', async () => {
      throw new AppError('RATE_LIMITED', 'too many requests');
    });
    await app.ready();
    expect((await app.inject('/limited')).statusCode).toBe(200);
    const res = await app.inject('/limited');
    expect(res.statusCode).toBe(429);
    expect(res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: 'too many requests' } });
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect((await app.inject('/limited-no-header')).headers['retry-after']).toBe('1');
    await app.close();
  });
});
