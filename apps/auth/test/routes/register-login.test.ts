import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthApp,
  accountEvents,
  authEnv,
  bearer,
  changeAdmin,
  PASSWORD,
  register,
  startAuth,
  uniqueUsername,
} from '../helpers.js';

describe('POST /api/auth/register and /login', () => {
  const env = authEnv();
  let app: AuthApp;
  beforeAll(async () => {
    app = await startAuth(env);
  });
  afterAll(() => app.close());

  it('registers: 201 with the user and a working token pair', async () => {
    const username = uniqueUsername('Reg');
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      payload: { username, password: PASSWORD, displayName: 'Reggie' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      user: {
        id: expect.any(String),
        username,
        displayName: 'Reggie',
        kind: 'user',
        createdAt: expect.any(String),
      },
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      expiresIn: 900,
    });
    expect(res.body).not.toContain('passwordHash');
    const me = await app.inject({ url: '/api/auth/me', headers: bearer(body.accessToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: body.user.id, username, kind: 'user', displayName: 'Reggie' });
  });

  it('appends user.registered to the account stream', async () => {
    const r = await register(app, uniqueUsername('evt'), 'Evan');
    const events = (await accountEvents(app.redis)).filter(
      (e) => e.type === 'user.registered' && e.data.userId === r.userId,
    );
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual({
      userId: r.userId,
      username: r.username,
      displayName: 'Evan',
      createdAt: expect.any(String),
    });
    expect(events[0]?.source).toBe(app.instanceId);
    const stored = await app.accounts.users.findById(r.userId);
    expect(stored?.announced).toBe(true);
  });

  it('stores only an argon2id hash of the password', async () => {
    const r = await register(app);
    const doc = await app.mongo.collection('users').findOne({ _id: r.userId as never });
    expect(doc?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(JSON.stringify(doc)).not.toContain(PASSWORD);
  });

  it('refuses a username taken in any letter case: 409 USERNAME_TAKEN', async () => {
    const username = uniqueUsername('Case');
    await register(app, username);
    for (const variant of [username, username.toUpperCase(), username.toLowerCase()]) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { username: variant, password: PASSWORD, displayName: 'X' },
      });
      expect(res.statusCode).toBe(409);
      expect(res.json().error.code).toBe('USERNAME_TAKEN');
    }
  });

  it('lets only one of two simultaneous registrations of a name succeed', async () => {
    const username = uniqueUsername('race');
    const payload = { username, password: PASSWORD, displayName: 'Racer' };
    const results = await Promise.all([
      app.inject({ method: 'POST', url: '/api/auth/register', payload }),
      app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { ...payload, username: username.toUpperCase() },
      }),
    ]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409]);
  });

  it('logs in with any letter case of the username: 200 with the same shape', async () => {
    const r = await register(app, uniqueUsername('Login'), 'Lou');
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: r.username.toUpperCase(), password: PASSWORD },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.user).toMatchObject({ id: r.userId, username: r.username, displayName: 'Lou', kind: 'user' });
    expect(body.refreshToken).not.toBe(r.refreshToken);
    const me = await app.inject({ url: '/api/auth/me', headers: bearer(body.accessToken) });
    expect(me.json().sessionId).not.toBe(
      (await app.inject({ url: '/api/auth/me', headers: bearer(r.accessToken) })).json().sessionId,
    );
  });

  it('answers an unknown user exactly like a wrong password: 401 INVALID_CREDENTIALS', async () => {
    const r = await register(app);
    const wrong = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: r.username, password: 'not the password' },
    });
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: uniqueUsername('ghost'), password: PASSWORD },
    });
    expect(wrong.statusCode).toBe(401);
    expect(unknown.statusCode).toBe(401);
    expect(wrong.json()).toEqual({
      error: { code: 'INVALID_CREDENTIALS', message: 'invalid username or password' },
    });
    expect(unknown.json()).toEqual(wrong.json());
  });

  it('gives admin to nobody by name: registering any name is a user, and ADMIN_USERNAMES stops start-up', async () => {
    for (const username of ['admin', 'Root', uniqueUsername('boss_admin')]) {
      const res = await app.inject({
        method: 'POST',
        url: '/api/auth/register',
        payload: { username, password: PASSWORD, displayName: 'Boss' },
      });
      if (res.statusCode === 409) continue; // another run of this file took the plain name
      expect(res.json().user.kind).toBe('user');
    }
    await expect(startAuth({ ...env, ADMIN_USERNAMES: 'root' })).rejects.toThrow(/ADMIN_USERNAMES/);
  });

  it('grants admin by user id (the operator command): at the next login, and at the next refresh of a live session', async () => {
    const boss = await register(app);
    await changeAdmin(app, boss.userId, true);
    // The live session is promoted at its next refresh.
    const refreshed = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: boss.refreshToken },
    });
    const me = await app.inject({ url: '/api/auth/me', headers: bearer(refreshed.json().accessToken) });
    expect(me.json().kind).toBe('admin');
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: boss.username, password: PASSWORD },
    });
    expect(login.json().user.kind).toBe('admin');
    const cleanup = await app.inject({
      method: 'DELETE',
      url: '/api/auth/guest/cleanup-all',
      headers: bearer(login.json().accessToken),
    });
    expect(cleanup.statusCode).toBe(200);
  });

  it('revoking admin by user id ends every session of the account at once', async () => {
    const boss = await register(app);
    await changeAdmin(app, boss.userId, true);
    const login = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: boss.username, password: PASSWORD },
    });
    expect(await changeAdmin(app, boss.userId, false)).toMatchObject({ status: 'changed', kind: 'user' });
    const me = await app.inject({ url: '/api/auth/me', headers: bearer(login.json().accessToken) });
    expect(me.statusCode).toBe(401);
    const again = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: boss.username, password: PASSWORD },
    });
    expect(again.json().user.kind).toBe('user');
    expect(await changeAdmin(app, 'NOSUCHUSER000000000000000', true)).toEqual({ status: 'not-found' });
  });

  it('announces at login a user whose user.registered never reached the stream', async () => {
    const r = await register(app);
    await app.accounts.users.model.updateOne({ _id: r.userId }, { $set: { announced: false } });
    const before = (await accountEvents(app.redis)).filter(
      (e) => e.type === 'user.registered' && e.data.userId === r.userId,
    ).length;
    await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: r.username, password: PASSWORD },
    });
    const after = (await accountEvents(app.redis)).filter(
      (e) => e.type === 'user.registered' && e.data.userId === r.userId,
    ).length;
    expect(after).toBe(before + 1);
    expect((await app.accounts.users.findById(r.userId))?.announced).toBe(true);
  });
});
