import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashRefreshToken } from '../../src/sessions/refresh-tokens.js';
import { type AuthApp, authEnv, bearer, listen, register, startAuth } from '../helpers.js';

describe('refresh, logout and /me', () => {
  let app: AuthApp;
  let revoked: Awaited<ReturnType<typeof listen<'session.revoked'>>>;
  beforeAll(async () => {
    // Replay as such: no grace window for a retry (refresh-grace.test.ts covers it).
    app = await startAuth(authEnv({ REFRESH_GRACE_SECONDS: '0' }));
    revoked = await listen(app.redis, 'session.revoked');
  });
  afterAll(async () => {
    await revoked.close();
    await app.close();
  });

  const refresh = (refreshToken: string) =>
    app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });
  const me = (accessToken: string) => app.inject({ url: '/api/auth/me', headers: bearer(accessToken) });
  const sessionOf = async (accessToken: string) => (await me(accessToken)).json().sessionId as string;

  it('GET /me describes the caller and its session', async () => {
    const r = await register(app, undefined, 'Mia');
    const res = await me(r.accessToken);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: r.userId,
      kind: 'user',
      username: r.username,
      displayName: 'Mia',
      sessionId: expect.any(String),
      createdAt: expect.any(String),
    });
  });

  it('GET /me without a token is 401 UNAUTHORIZED', async () => {
    const res = await app.inject({ url: '/api/auth/me' });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('refresh returns a new pair for the same session and rotates the refresh token', async () => {
    const r = await register(app);
    const sid = await sessionOf(r.accessToken);
    const res = await refresh(r.refreshToken);
    expect(res.statusCode).toBe(200);
    const pair = res.json();
    expect(pair).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
    });
    expect(pair.refreshToken).not.toBe(r.refreshToken);
    expect(await sessionOf(pair.accessToken)).toBe(sid);
    // Only hashes are stored.
    expect(await app.redis.get(keys.refresh(hashRefreshToken(pair.refreshToken)))).toBe(sid);
    expect(await app.redis.exists(keys.refresh(pair.refreshToken))).toBe(0);
    // The new refresh token works in turn.
    expect((await refresh(pair.refreshToken)).statusCode).toBe(200);
  });

  it('an unknown refresh token is 401 and revokes nothing', async () => {
    const res = await refresh('A'.repeat(43));
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('re-using a rotated refresh token revokes the whole session and tells the bus', async () => {
    const r = await register(app);
    const sid = await sessionOf(r.accessToken);
    const rotated = (await refresh(r.refreshToken)).json();
    const reuse = await refresh(r.refreshToken);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().error.code).toBe('SESSION_REVOKED');
    // Both the old and the new access token of that session are refused now, and the new refresh token too.
    for (const token of [r.accessToken, rotated.accessToken]) {
      const res = await me(token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('SESSION_REVOKED');
    }
    expect((await refresh(rotated.refreshToken)).statusCode).toBe(401);
    expect(await app.redis.exists(keys.session(sid))).toBe(0);
    await vi.waitFor(() =>
      expect(revoked.received).toContainEqual({
        sessionId: sid,
        userId: r.userId,
        reason: 'refresh-token-reuse',
      }),
    );
  });

  it('of two concurrent refreshes with the same token exactly one wins', async () => {
    const r = await register(app);
    const results = await Promise.all([refresh(r.refreshToken), refresh(r.refreshToken)]);
    expect(results.map((x) => x.statusCode).sort()).toEqual([200, 401]);
    const loser = results.find((x) => x.statusCode === 401);
    expect(loser?.json().error.code).toBe('SESSION_REVOKED');
  });

  it('re-use leaves the user’s other sessions alone', async () => {
    const r = await register(app);
    const other = (
      await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: r.username, password: 'correct horse battery staple' },
      })
    ).json();
    await refresh(r.refreshToken);
    await refresh(r.refreshToken);
    expect((await me(r.accessToken)).statusCode).toBe(401);
    expect((await me(other.accessToken)).statusCode).toBe(200);
  });

  it('logout is 204, then the old access and refresh tokens are refused', async () => {
    const r = await register(app);
    const sid = await sessionOf(r.accessToken);
    const out = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(r.accessToken) });
    expect(out.statusCode).toBe(204);
    expect(out.body).toBe('');
    const after = await me(r.accessToken);
    expect(after.statusCode).toBe(401);
    expect(after.json().error.code).toBe('SESSION_REVOKED');
    expect((await refresh(r.refreshToken)).statusCode).toBe(401);
    expect(await app.redis.sismember(keys.userSessions(r.userId), sid)).toBe(0);
    await vi.waitFor(() =>
      expect(revoked.received).toContainEqual({ sessionId: sid, userId: r.userId, reason: 'logout' }),
    );
  });

  it('logout without a token is 401; a second logout with the same token is 401', async () => {
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout' })).statusCode).toBe(401);
    const r = await register(app);
    expect(
      (await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(r.accessToken) }))
        .statusCode,
    ).toBe(204);
    expect(
      (await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(r.accessToken) }))
        .statusCode,
    ).toBe(401);
  });

  it('a session revoked here is refused by another instance that had it cached (shared Redis + bus)', async () => {
    const other = await startAuth();
    try {
      const r = await register(app);
      expect((await other.inject({ url: '/api/auth/me', headers: bearer(r.accessToken) })).statusCode).toBe(
        404,
      );
      // The other instance has its own database; what matters is that it accepted the token (404, not 401).
      await app.inject({ method: 'POST', url: '/api/auth/logout', headers: bearer(r.accessToken) });
      await vi.waitFor(
        async () => {
          const res = await other.inject({ url: '/api/auth/me', headers: bearer(r.accessToken) });
          expect(res.statusCode).toBe(401);
          expect(res.json().error.code).toBe('SESSION_REVOKED');
        },
        { timeout: 5000 },
      );
    } finally {
      await other.close();
    }
  });
});
