import { keys } from '@voip/contracts/redis-keys';
import { createRedis } from '@voip/kit/redis';
import { redisUrl } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createThrottles, type Throttles } from '../../src/throttling/throttles.js';

describe('throttles (real Redis)', () => {
  let redis: Redis;
  let throttles: Throttles;
  beforeAll(async () => {
    redis = createRedis(redisUrl());
    await redis.connect();
    throttles = createThrottles(redis, {
      LOGIN_MAX_FAILURES_PER_USERNAME_IP: 3,
      LOGIN_MAX_FAILURES_PER_USERNAME: 4,
      LOGIN_MAX_FAILURES_PER_IP: 5,
      LOGIN_WINDOW_SECONDS: 60,
      REGISTER_MAX_PER_IP: 2,
      GUEST_MAX_PER_IP: 2,
      SIGNUP_WINDOW_SECONDS: 60,
    });
  });
  afterAll(() => redis.quit());

  it('refuses a username from one address after its limit, saying how long to wait; other addresses go on', async () => {
    const user = ulid();
    const ip = ulid();
    for (let i = 0; i < 3; i++)
      expect((await throttles.loginAttempt(user, ip)).every((d) => d.allowed)).toBe(true);
    const [byPair, byUser, byIp] = await throttles.loginAttempt(user, ip);
    expect(byPair?.allowed).toBe(false);
    expect(byUser?.allowed).toBe(true);
    expect(byIp?.allowed).toBe(true);
    expect(byPair?.retryAfterMs).toBeGreaterThan(50_000);
    expect(byPair?.retryAfterMs).toBeLessThanOrEqual(60_000);
    // The refused attempt checked no password and did not count: the username has one attempt left (4),
    // then it is refused whatever the address, and the refusal counts on no window.
    expect((await throttles.loginAttempt(user, ulid())).map((d) => d.allowed)).toEqual([true, true, true]);
    const otherIp = ulid();
    const fromElsewhere = await throttles.loginAttempt(user, otherIp);
    expect(fromElsewhere.map((d) => d.allowed)).toEqual([true, false, true]);
    expect(fromElsewhere[1]?.retryAfterMs).toBeGreaterThan(0);
    expect(await redis.get(keys.rateLimit('login-ip', otherIp))).toBeNull();
  });

  it('a success resets its address for the username but only takes back its own attempt elsewhere', async () => {
    const user = ulid();
    const ip = ulid();
    for (let i = 0; i < 2; i++) await throttles.loginAttempt(user, ip);
    await throttles.loginAttempt(user, ip);
    await throttles.loginSucceeded(user, ip);
    // The pair starts again (3 more allowed); the username has 2 failures left of 4.
    expect((await throttles.loginAttempt(user, ip)).map((d) => d.allowed)).toEqual([true, true, true]);
    expect((await throttles.loginAttempt(user, ip)).map((d) => d.allowed)).toEqual([true, true, true]);
    expect((await throttles.loginAttempt(user, ip)).map((d) => d.allowed)).toEqual([true, false, true]);
  });

  it('takes back the attempt of a successful login, so only failures count', async () => {
    const user = ulid();
    const ip = ulid();
    for (let i = 0; i < 3; i++) {
      await throttles.loginAttempt(user, ip);
      await throttles.loginSucceeded(user, ip);
    }
    for (let i = 0; i < 5; i++)
      expect((await throttles.loginAttempt(`${user}${i}`, ip))[2]?.allowed).toBe(true);
    expect((await throttles.loginAttempt(`${user}x`, ip))[2]?.allowed).toBe(false);
  });

  it('never revives an expired window when forgiving', async () => {
    const ip = ulid();
    await throttles.loginSucceeded('nobody', ip);
    expect(await redis.keys(`*${ip}*`)).toEqual([]);
  });

  it('limits registrations and guests per address', async () => {
    const ip = ulid();
    expect((await throttles.register(ip)).allowed).toBe(true);
    expect((await throttles.register(ip)).allowed).toBe(true);
    expect((await throttles.register(ip)).allowed).toBe(false);
    expect((await throttles.guest(ip)).allowed).toBe(true);
  });
});
