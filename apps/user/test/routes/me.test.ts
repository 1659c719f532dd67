import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAccountEvent } from '../../src/accounts/account-events.js';
import { drainSync, envelope, signIn, startUserService, type TestService, withProfile } from '../harness.js';

describe('GET /api/users/me', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc.app.close());

  it('refuses requests without a valid, live access token', async () => {
    const { app } = svc;
    expect((await app.inject({ url: '/api/users/me' })).statusCode).toBe(401);
    const garbage = await app.inject({
      url: '/api/users/me',
      headers: { authorization: 'Bearer abc.def.ghijklmnop' },
    });
    expect(garbage.statusCode).toBe(401);
    expect(garbage.json().error.code).toBe('UNAUTHORIZED');
    const a = await signIn(app);
    await app.redis.del(keys.session(a.sid));
    const revoked = await app.inject({ url: '/api/users/me', headers: a.headers });
    expect(revoked.statusCode).toBe(401);
    expect(revoked.json().error.code).toBe('SESSION_REVOKED');
  });

  it('creates the profile from the token when the account event has not been consumed yet', async () => {
    const a = await signIn(svc.app, 'user', 'Early Bird');
    const res = await svc.app.inject({ url: '/api/users/me', headers: a.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: a.id,
      displayName: 'Early Bird',
      avatarUrl: null,
      kind: 'user',
      doNotDisturb: false,
      incomingCalls: 'registered',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    // The late event fills in the username and the registered name, once.
    const event = envelope('user.registered', {
      userId: a.id,
      username: 'early.bird',
      displayName: 'Early B.',
      createdAt: '2024-01-02T03:04:05.000Z',
    });
    await applyAccountEvent(svc.app.domain, event);
    await applyAccountEvent(svc.app.domain, event);
    const after = (await svc.app.inject({ url: '/api/users/me', headers: a.headers })).json();
    expect(after).toMatchObject({
      id: a.id,
      username: 'early.bird',
      displayName: 'Early B.',
      createdAt: '2024-01-02T03:04:05.000Z',
    });
  });

  it('lets an admin token correct a profile made as a plain user', async () => {
    const a = await signIn(svc.app, 'admin', 'Boss');
    await applyAccountEvent(
      svc.app.domain,
      envelope('user.registered', {
        userId: a.id,
        username: 'boss',
        displayName: 'Boss',
        createdAt: new Date().toISOString(),
      }),
    );
    expect((await svc.app.domain.profiles.get(a.id))?.kind).toBe('user');
    expect((await svc.app.inject({ url: '/api/users/me', headers: a.headers })).json().kind).toBe('admin');
  });
});

describe('PATCH /api/users/me', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc.app.close());

  const patch = (headers: Record<string, string>, payload: unknown) =>
    svc.app.inject({ method: 'PATCH', url: '/api/users/me', headers, payload: payload as object });

  it('updates name, avatar and do-not-disturb, mirrors DND into Redis and records a profile change', async () => {
    const a = await withProfile(svc.app, 'user', 'Before');
    const res = await patch(a.headers, {
      displayName: 'After',
      avatarUrl: 'https://cdn.example.com/a.png',
      doNotDisturb: true,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id: a.id,
      displayName: 'After',
      avatarUrl: 'https://cdn.example.com/a.png',
      doNotDisturb: true,
    });
    expect(await svc.app.redis.get(keys.dnd(a.id))).toBe('1');

    const off = await patch(a.headers, { doNotDisturb: false, avatarUrl: null });
    expect(off.json()).toMatchObject({ displayName: 'After', avatarUrl: null, doNotDisturb: false });
    expect(await svc.app.redis.exists(keys.dnd(a.id))).toBe(0);

    const { changes } = await drainSync(svc.app, a);
    expect(changes.map((c) => [c.entity, c.op, c.id])).toEqual([
      ['profile', 'upsert', a.id],
      ['profile', 'upsert', a.id],
    ]);
    expect(changes[1]?.data).toMatchObject({ displayName: 'After', avatarUrl: null, doNotDisturb: false });
  });

  it('publishes user.updated on the bus', async () => {
    const a = await withProfile(svc.app);
    const seen = new Promise<unknown>((resolve) => {
      void svc.app.subscriber.on('user.updated', (e) => {
        if (e.data.userId === a.id) resolve(e.data);
      });
    });
    await patch(a.headers, { displayName: 'Announced' });
    await expect(seen).resolves.toEqual({ userId: a.id, displayName: 'Announced' });
  });

  it('tells the feeds of people who have the user as a contact about a new name', async () => {
    const watcher = await withProfile(svc.app);
    const a = await withProfile(svc.app, 'user', 'Old Name');
    await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${a.id}`, headers: watcher.headers });
    const { cursor } = await drainSync(svc.app, watcher);
    await patch(a.headers, { displayName: 'New Name' });
    const { changes } = await drainSync(svc.app, watcher, cursor);
    expect(changes).toEqual([
      {
        entity: 'profile',
        op: 'upsert',
        id: a.id,
        data: expect.objectContaining({ id: a.id, displayName: 'New Name' }),
        at: expect.any(String),
      },
    ]);
  });

  it.each([
    ['an empty body', {}],
    ['an unknown field', { displayName: 'x', isAdmin: true }],
    ['a wrong type', { doNotDisturb: 'yes' }],
    ['an operator object', { displayName: { $ne: null } }],
    ['a too long name', { displayName: 'x'.repeat(65) }],
    ['a blank name', { displayName: '   ' }],
    ['a name with a control character', { displayName: 'Eve\u001b[2J' }],
    ['a non-URL avatar', { avatarUrl: 'javascript-alert' }],
    ['a javascript: avatar', { avatarUrl: 'javascript:alert(document.cookie)' }],
    ['a data: avatar', { avatarUrl: 'data:text/html;base64,PHNjcmlwdD4=' }],
    ['an http (not https) avatar', { avatarUrl: 'http://cdn.example.com/a.png' }],
    ['an unknown incomingCalls', { incomingCalls: 'friends-of-friends' }],
    ['a too long avatar URL', { avatarUrl: `https://e.com/${'a'.repeat(2100)}` }],
  ])('refuses %s with 400 VALIDATION_FAILED', async (_name, body) => {
    const a = await withProfile(svc.app, 'user', 'Unchanged');
    const res = await patch(a.headers, body);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect((await svc.app.domain.profiles.get(a.id))?.displayName).toBe('Unchanged');
  });

  it('refuses a body that is not JSON', async () => {
    const a = await withProfile(svc.app);
    const res = await svc.app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: { ...a.headers, 'content-type': 'application/json' },
      payload: '{"displayName": ',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBeDefined();
  });
});
