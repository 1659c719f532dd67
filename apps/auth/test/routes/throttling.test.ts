import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthApp, authEnv, PASSWORD, register, startAuth, uniqueUsername } from '../helpers.js';

// Every test uses an address of its own (inject's remoteAddress), since all test files share one Redis.
let nextIp = 1;
const freshIp = () => `10.77.${Math.floor(Math.random() * 250)}.${nextIp++}`;

describe('throttling', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await startAuth(
      authEnv({
        LOGIN_MAX_FAILURES_PER_USERNAME_IP: '3',
        LOGIN_MAX_FAILURES_PER_USERNAME: '8',
        LOGIN_MAX_FAILURES_PER_IP: '5',
        LOGIN_WINDOW_SECONDS: '900',
        REGISTER_MAX_PER_IP: '2',
        GUEST_MAX_PER_IP: '2',
        SIGNUP_WINDOW_SECONDS: '3600',
      }),
    );
  });
  afterAll(() => app.close());

  const login = (username: string, password: string, ip = freshIp()) =>
    app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username, password },
      remoteAddress: ip,
    });

  const expectLimited = (res: Awaited<ReturnType<typeof login>>, maxSeconds: number) => {
    expect(res.statusCode).toBe(429);
    expect(res.json().error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(res.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(maxSeconds);
  };

  it('stops an address after 3 failures on a username, even with the right password, while the owner elsewhere signs in', async () => {
    const r = await register(app, uniqueUsername('locked'), 'L', freshIp());
    const guesser = freshIp();
    for (let i = 0; i < 3; i++)
      expect((await login(r.username, 'wrong password!', guesser)).statusCode).toBe(401);
    expectLimited(await login(r.username.toUpperCase(), 'wrong password!', guesser), 900);
    expectLimited(await login(r.username, PASSWORD, guesser), 900);
    // Failing on purpose does not lock the owner out.
    expect((await login(r.username, PASSWORD)).statusCode).toBe(200);
  });

  it('does not count refused attempts: one address hammering a username never locks the owner out', async () => {
    const r = await register(app, uniqueUsername('hammer'), 'H', freshIp());
    const guesser = freshIp();
    // 3 failures fill the pair window; 12 more refused attempts, past the per-username limit of 8
    // were they counted, must leave the username's window alone.
    for (let i = 0; i < 3; i++)
      expect((await login(r.username, 'wrong password!', guesser)).statusCode).toBe(401);
    for (let i = 0; i < 12; i++) expectLimited(await login(r.username, 'wrong password!', guesser), 900);
    expect((await login(r.username, PASSWORD)).statusCode).toBe(200);
  });

  it('locks a username everywhere after 8 failures spread over many addresses', async () => {
    const r = await register(app, uniqueUsername('spread'), 'S', freshIp());
    for (let i = 0; i < 8; i++) expect((await login(r.username, 'wrong password!')).statusCode).toBe(401);
    expectLimited(await login(r.username, 'wrong password!'), 900);
    expectLimited(await login(r.username, PASSWORD), 900);
  });

  it('only failures count: a successful login clears the count of its address', async () => {
    const r = await register(app, uniqueUsername('reset'), 'R', freshIp());
    const ip = freshIp();
    // Two rounds of two failures: four in all, over the address's limit of 3 were it not reset.
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 2; i++)
        expect((await login(r.username, 'wrong password!', ip)).statusCode).toBe(401);
      expect((await login(r.username, PASSWORD, ip)).statusCode).toBe(200);
    }
  });

  it('limits failures per address across usernames', async () => {
    const ip = freshIp();
    for (let i = 0; i < 5; i++)
      expect((await login(uniqueUsername('spray'), 'wrong password!', ip)).statusCode).toBe(401);
    expectLimited(await login(uniqueUsername('spray'), 'wrong password!', ip), 900);
    // Another address is not affected.
    expect((await login(uniqueUsername('spray'), 'wrong password!')).statusCode).toBe(401);
  });

  it('limits registrations per address', async () => {
    const ip = freshIp();
    const reg = () =>
      app.inject({
        method: 'POST',
        url: '/api/auth/register',
        remoteAddress: ip,
        payload: { username: uniqueUsername('r'), password: PASSWORD, displayName: 'R' },
      });
    expect((await reg()).statusCode).toBe(201);
    expect((await reg()).statusCode).toBe(201);
    expectLimited(await reg(), 3600);
  });

  it('limits guest creation per address', async () => {
    const ip = freshIp();
    const guest = () =>
      app.inject({
        method: 'POST',
        url: '/api/auth/guest',
        remoteAddress: ip,
        payload: { displayName: 'G' },
      });
    expect((await guest()).statusCode).toBe(201);
    expect((await guest()).statusCode).toBe(201);
    expectLimited(await guest(), 3600);
  });

  it('counts the client address the gateway forwards (x-forwarded-for from a trusted proxy)', async () => {
    const client = freshIp();
    const guest = () =>
      app.inject({
        method: 'POST',
        url: '/api/auth/guest',
        remoteAddress: '127.0.0.1',
        headers: { 'x-forwarded-for': client },
        payload: { displayName: 'G' },
      });
    expect((await guest()).statusCode).toBe(201);
    expect((await guest()).statusCode).toBe(201);
    expectLimited(await guest(), 3600);
  });
});
