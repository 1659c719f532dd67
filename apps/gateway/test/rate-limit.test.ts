// Request budgets at the edge (Redis-backed): per IP without a token, per user with one, and a much
// smaller budget for the routes that create sessions.
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, openSession, uniqueClientIp } from './support/gateway.js';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

describe('rate limits', () => {
  let up: UpstreamDouble;
  let app: App;
  let second: App;

  beforeAll(async () => {
    up = await startUpstreamDouble('svc');
    const env = {
      RATE_LIMIT_CREDENTIALS_MAX: '2',
      RATE_LIMIT_ANON_MAX: '4',
      RATE_LIMIT_USER_MAX: '3',
      RATE_LIMIT_WINDOW_MS: '60000',
    };
    const all = { auth: [up.url], users: [up.url], calls: [up.url] };
    app = await buildGateway(all, env);
    // A second gateway instance on the same Redis shares the counters.
    second = await buildGateway(all, env);
  });
  afterAll(async () => {
    await app?.close();
    await second?.close();
    await up?.stop();
  });

  it('limits login/register/guest per IP and answers 429 RATE_LIMITED with Retry-After', async () => {
    const ip = uniqueClientIp();
    const login = (gw: App) =>
      gw.inject({ method: 'POST', url: '/api/auth/login', headers: { 'x-forwarded-for': ip }, payload: {} });
    expect((await login(app)).statusCode).toBe(200);
    const second2 = await login(second);
    expect(second2.statusCode).toBe(200);
    expect(second2.headers['x-ratelimit-remaining']).toBe('0');
    const refused = await login(app);
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.any(String),
        details: { retryAfterSeconds: expect.any(Number) },
      },
    });
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Register shares the credentials budget of this IP; refresh (anonymous) does not.
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/auth/register',
          headers: { 'x-forwarded-for': ip },
          payload: {},
        })
      ).statusCode,
    ).toBe(429);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/auth/refresh',
          headers: { 'x-forwarded-for': ip },
          payload: {},
        })
      ).statusCode,
    ).toBe(200);
  });

  it('limits anonymous routes per IP', async () => {
    const ip = uniqueClientIp();
    const codes: number[] = [];
    for (let i = 0; i < 6; i++)
      codes.push(
        (await app.inject({ url: '/api/docs/openapi.json', headers: { 'x-forwarded-for': ip } })).statusCode,
      );
    expect(codes).toEqual([200, 200, 200, 200, 429, 429]);
  });

  it('limits authenticated requests per user, whatever the IP', async () => {
    const s = await openSession(app);
    const other = await openSession(app);
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await app.inject({
        url: '/api/users/me',
        headers: { authorization: s.authorization, 'x-forwarded-for': uniqueClientIp() },
      });
      codes.push(res.statusCode);
    }
    expect(codes).toEqual([200, 200, 200, 429, 429]);
    // Another user from the same address still has a budget.
    const res = await app.inject({ url: '/api/users/me', headers: { authorization: other.authorization } });
    expect(res.statusCode).toBe(200);
  });

  it('does not count the operational endpoints', async () => {
    for (let i = 0; i < 8; i++) expect((await app.inject('/health')).statusCode).toBe(200);
  });
});
