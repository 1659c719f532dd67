// A refresh whose answer was lost: the client retries with the token it still has. Within
// REFRESH_GRACE_SECONDS, while the successor is unused, that is the same pair again, not a replay; a
// replay after the successor was used, or after the window, still revokes the session. And Redis keeps a
// bounded number of used tokens per session, deleted with it; guest sessions live GUEST_REFRESH_TTL_SECONDS.
import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashRefreshToken } from '../../src/sessions/refresh-tokens.js';
import { type AuthApp, authEnv, bearer, createGuest, register, startAuth } from '../helpers.js';

describe('refresh grace window, used-token memory and guest lifetime', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await startAuth(
      authEnv({ REFRESH_GRACE_SECONDS: '2', REFRESH_REUSE_MEMORY: '3', GUEST_REFRESH_TTL_SECONDS: '600' }),
    );
  });
  afterAll(() => app.close());

  const refresh = (refreshToken: string) =>
    app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });
  const me = (accessToken: string) => app.inject({ url: '/api/auth/me', headers: bearer(accessToken) });

  it('answers a retry within the window with the same refresh token, and the session lives on', async () => {
    const r = await register(app);
    const first = await refresh(r.refreshToken);
    expect(first.statusCode).toBe(200);
    const retry = await refresh(r.refreshToken);
    expect(retry.statusCode).toBe(200);
    expect(retry.json().refreshToken).toBe(first.json().refreshToken);
    expect((await me(retry.json().accessToken)).statusCode).toBe(200);
    // The pair goes on working: the successor rotates as usual.
    expect((await refresh(first.json().refreshToken)).statusCode).toBe(200);
  });

  it('gives concurrent refreshes with one token the same new pair', async () => {
    const r = await register(app);
    const results = await Promise.all([refresh(r.refreshToken), refresh(r.refreshToken)]);
    expect(results.map((x) => x.statusCode)).toEqual([200, 200]);
    expect(results[0]?.json().refreshToken).toBe(results[1]?.json().refreshToken);
  });

  it('still revokes a replay once the successor was used, even within the window', async () => {
    const r = await register(app);
    const next = (await refresh(r.refreshToken)).json();
    expect((await refresh(next.refreshToken)).statusCode).toBe(200);
    const replay = await refresh(r.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe('SESSION_REVOKED');
    expect((await me(next.accessToken)).statusCode).toBe(401);
  });

  it('still revokes a replay after the window', async () => {
    const r = await register(app);
    const next = (await refresh(r.refreshToken)).json();
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const replay = await refresh(r.refreshToken);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().error.code).toBe('SESSION_REVOKED');
    expect((await me(next.accessToken)).statusCode).toBe(401);
  });

  it('keeps at most REFRESH_REUSE_MEMORY used tokens per session, and removes them with the session', async () => {
    const r = await register(app);
    const sid = (await me(r.accessToken)).json().sessionId as string;
    const used: string[] = [r.refreshToken];
    let current = r;
    for (let i = 0; i < 6; i++) {
      const pair = (await refresh(current.refreshToken)).json();
      current = { ...current, ...pair };
      used.push(pair.refreshToken);
    }
    used.pop(); // the current one is not used
    const exists = async () =>
      Promise.all(used.map((t) => app.redis.exists(keys.refreshUsed(hashRefreshToken(t)))));
    expect(await exists()).toEqual([0, 0, 0, 1, 1, 1]);
    expect(await app.redis.llen(keys.sessionRefreshUsed(sid))).toBe(3);

    await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(current.accessToken) });
    expect(await exists()).toEqual([0, 0, 0, 0, 0, 0]);
    expect(await app.redis.exists(keys.sessionRefreshUsed(sid))).toBe(0);
  });

  it('gives guest sessions the short guest lifetime, at creation and at each refresh', async () => {
    const g = await createGuest(app, 'Brief');
    const sid = (await me(g.accessToken)).json().sessionId as string;
    expect(await app.redis.ttl(keys.session(sid))).toBeLessThanOrEqual(600);
    const pair = (await refresh(g.refreshToken)).json();
    expect(await app.redis.ttl(keys.session(sid))).toBeLessThanOrEqual(600);
    expect(await app.redis.ttl(keys.refresh(hashRefreshToken(pair.refreshToken)))).toBeLessThanOrEqual(600);
    // A user's session keeps the long one.
    const r = await register(app);
    const userSid = (await me(r.accessToken)).json().sessionId as string;
    expect(await app.redis.ttl(keys.session(userSid))).toBeGreaterThan(600);
  });
});
