import { keys } from '@voip/contracts/redis-keys';
import { TEST_INTERNAL_TOKEN } from '@voip/testkit/env';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AuthApp,
  authEnv,
  bearer,
  createGuest,
  listen,
  PASSWORD,
  type Registered,
  register,
  registerAdmin,
  startAuth,
} from '../helpers.js';

const internal = { 'x-internal-token': TEST_INTERNAL_TOKEN };

describe('session revocation: admin routes and logout-all', () => {
  let app: AuthApp;
  let admin: string;
  let revoked: Awaited<ReturnType<typeof listen<'session.revoked'>>>;
  beforeAll(async () => {
    app = await startAuth(authEnv());
    admin = await registerAdmin(app);
    revoked = await listen(app.redis, 'session.revoked');
  });
  afterAll(async () => {
    await revoked.close();
    await app.close();
  });

  const me = (accessToken: string) => app.inject({ url: '/api/auth/me', headers: bearer(accessToken) });
  const sessionOf = async (accessToken: string) => (await me(accessToken)).json().sessionId as string;
  const refresh = (refreshToken: string) =>
    app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken } });
  const login = async (r: Registered) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: r.username, password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    return res.json() as { accessToken: string; refreshToken: string };
  };
  const revokeSession = (sid: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'DELETE', url: `/api/auth/sessions/${sid}`, headers });
  const revokeUser = (userId: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'DELETE', url: `/api/auth/users/${userId}/sessions`, headers });
  /** The token pair no longer works: access refused as revoked, refresh refused. */
  const expectDead = async (t: { accessToken: string; refreshToken: string }) => {
    const res = await me(t.accessToken);
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('SESSION_REVOKED');
    expect((await refresh(t.refreshToken)).statusCode).toBe(401);
  };

  describe('permissions', () => {
    it('refuses a user token and a guest token with 403, even with a bad id, and revokes nothing', async () => {
      const user = await register(app);
      const guest = await createGuest(app);
      const sid = await sessionOf(user.accessToken);
      for (const token of [user.accessToken, guest.accessToken]) {
        for (const res of [
          await revokeSession(sid, bearer(token)),
          await revokeUser(user.userId, bearer(token)),
          await revokeSession('not.an.id', bearer(token)),
          await revokeUser('x'.repeat(65), bearer(token)),
        ]) {
          expect(res.statusCode).toBe(403);
          expect(res.json().error.code).toBe('FORBIDDEN');
        }
      }
      expect((await me(user.accessToken)).statusCode).toBe(200);
      expect((await me(guest.accessToken)).statusCode).toBe(200);
    });

    it('refuses no credential and a wrong internal token with 401', async () => {
      const user = await register(app);
      const sid = await sessionOf(user.accessToken);
      for (const headers of [{}, { 'x-internal-token': 'wrong-wrong-wrong-wrong-wrong' }] as Record<
        string,
        string
      >[]) {
        for (const res of [await revokeSession(sid, headers), await revokeUser(user.userId, headers)]) {
          expect(res.statusCode).toBe(401);
          expect(res.json().error.code).toBe('UNAUTHORIZED');
        }
      }
      expect((await me(user.accessToken)).statusCode).toBe(200);
    });

    it('answers a malformed id with 400 once the caller is allowed', async () => {
      for (const res of [
        await revokeSession('not.an.id', bearer(admin)),
        await revokeUser('x'.repeat(65), internal),
      ]) {
        expect(res.statusCode).toBe(400);
        expect(res.json().error.code).toBe('VALIDATION_FAILED');
      }
    });
  });

  it('DELETE /sessions/:sessionId (admin) revokes that session only and tells the bus', async () => {
    const user = await register(app);
    const other = await login(user);
    const sid = await sessionOf(user.accessToken);
    const res = await revokeSession(sid, bearer(admin));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 1 });
    await expectDead(user);
    expect(await app.redis.exists(keys.session(sid))).toBe(0);
    await vi.waitFor(() =>
      expect(revoked.received).toContainEqual({ sessionId: sid, userId: user.userId, reason: 'admin' }),
    );
    // The same user's other device keeps working.
    expect((await me(other.accessToken)).statusCode).toBe(200);
    // Idempotent: an already revoked (or unknown) session is {revoked: 0}, not 404.
    expect((await revokeSession(sid, bearer(admin))).json()).toEqual({ revoked: 0 });
    expect((await revokeSession('01J0000000000000000000NONE', internal)).json()).toEqual({ revoked: 0 });
  });

  it('DELETE /users/:userId/sessions (internal credential) revokes every session of that user', async () => {
    const user = await register(app);
    const second = await login(user);
    const bystander = await register(app);
    const sids = [await sessionOf(user.accessToken), await sessionOf(second.accessToken)];
    const res = await revokeUser(user.userId, internal);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ revoked: 2 });
    await expectDead(user);
    await expectDead(second);
    expect(await app.redis.scard(keys.userSessions(user.userId))).toBe(0);
    await vi.waitFor(() => {
      for (const sid of sids)
        expect(revoked.received).toContainEqual({ sessionId: sid, userId: user.userId, reason: 'admin' });
    });
    expect((await me(bystander.accessToken)).statusCode).toBe(200);
    expect((await revokeUser(user.userId, bearer(admin))).json()).toEqual({ revoked: 0 });
  });

  it('DELETE /users/:userId/sessions works for a guest too', async () => {
    const guest = await createGuest(app);
    expect((await revokeUser(guest.guestId, bearer(admin))).json()).toEqual({ revoked: 1 });
    await expectDead(guest);
  });

  describe('POST /logout-all', () => {
    it('ends every session of the caller, the current one included (204), and tells the bus', async () => {
      const user = await register(app);
      const devices = [user, await login(user), await login(user)];
      const sids = await Promise.all(devices.map((d) => sessionOf(d.accessToken)));
      const bystander = await register(app);
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/logout-all',
        headers: bearer(devices[1]!.accessToken),
      });
      expect(res.statusCode).toBe(204);
      expect(res.body).toBe('');
      for (const d of devices) await expectDead(d);
      await vi.waitFor(() => {
        for (const sid of sids)
          expect(revoked.received).toContainEqual({
            sessionId: sid,
            userId: user.userId,
            reason: 'logout-all',
          });
      });
      expect((await me(bystander.accessToken)).statusCode).toBe(200);
      // The token it was called with is revoked too.
      const again = await app.inject({
        method: 'POST',
        url: '/api/auth/logout-all',
        headers: bearer(devices[1]!.accessToken),
      });
      expect(again.statusCode).toBe(401);
    });

    it('works for a guest, and needs a token (401)', async () => {
      const guest = await createGuest(app);
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/logout-all',
        headers: bearer(guest.accessToken),
      });
      expect(res.statusCode).toBe(204);
      await expectDead(guest);
      const anonymous = await app.inject({ method: 'POST', url: '/api/auth/logout-all' });
      expect(anonymous.statusCode).toBe(401);
      expect(anonymous.json().error.code).toBe('UNAUTHORIZED');
    });
  });
});
