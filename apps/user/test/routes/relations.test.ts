import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  drainSync,
  newId,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

describe('contacts', () => {
  let svc: TestService;
  let me: Account;
  const put = (a: Account, id: string) =>
    svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${id}`, headers: a.headers });
  const del = (a: Account, id: string) =>
    svc.app.inject({ method: 'DELETE', url: `/api/users/me/contacts/${id}`, headers: a.headers });
  const list = async (a: Account) =>
    (await svc.app.inject({ url: '/api/users/me/contacts', headers: a.headers })).json();

  beforeAll(async () => {
    svc = await startUserService({ MAX_CONTACTS: '3' });
    me = await withProfile(svc.app, 'user', 'Me');
  });
  afterAll(() => svc.app.close());

  it('adds, lists with presence, and removes a contact, mirroring the watcher set', async () => {
    const friend = await withProfile(svc.app, 'user', 'Friend');
    await svc.app.redis.hset(keys.presence(friend.id), {
      status: 'online',
      lastSeenAt: '2025-01-01T00:00:00.000Z',
    });
    // One-sided, nothing flows: the friend has not accepted me.
    const pending = await put(me, friend.id);
    expect(pending.json().presence).toEqual({ status: 'offline', lastSeenAt: null });
    expect(await svc.app.redis.sismember(keys.contactWatchers(friend.id), me.id)).toBe(0);
    // The friend adds me back: now each sees the other.
    expect((await put(friend, me.id)).statusCode).toBe(200);
    expect(await svc.app.redis.sismember(keys.contactWatchers(me.id), friend.id)).toBe(1);
    const added = await put(me, friend.id);
    expect(added.statusCode).toBe(200);
    expect(added.json()).toEqual({
      userId: friend.id,
      displayName: 'Friend',
      addedAt: expect.any(String),
      presence: { status: 'online', lastSeenAt: '2025-01-01T00:00:00.000Z' },
    });
    expect(await svc.app.redis.sismember(keys.contactWatchers(friend.id), me.id)).toBe(1);
    expect((await list(me)).items).toEqual([added.json()]);

    const removed = await del(me, friend.id);
    expect(removed.statusCode).toBe(204);
    expect(removed.body).toBe('');
    expect((await list(me)).items).toEqual([]);
    expect(await svc.app.redis.sismember(keys.contactWatchers(friend.id), me.id)).toBe(0);
  });

  it('is idempotent: a second PUT or DELETE changes nothing and records no change', async () => {
    const a = await withProfile(svc.app);
    const friend = await withProfile(svc.app);
    const first = await put(a, friend.id);
    const second = await put(a, friend.id);
    expect(second.statusCode).toBe(200);
    expect(second.json().addedAt).toBe(first.json().addedAt);
    expect((await del(a, friend.id)).statusCode).toBe(204);
    expect((await del(a, friend.id)).statusCode).toBe(204);
    const { changes } = await drainSync(svc.app, a);
    expect(changes.map((c) => [c.entity, c.op, c.id])).toEqual([
      ['contact', 'upsert', friend.id],
      ['contact', 'delete', friend.id],
    ]);
    expect(changes[0]?.data).toEqual({
      userId: friend.id,
      displayName: expect.any(String),
      addedAt: first.json().addedAt,
    });
  });

  it('repairs a store left behind the feed by a request that died between the two writes', async () => {
    const a = await withProfile(svc.app);
    const friend = await withProfile(svc.app);
    await put(friend, a.id);
    // What a crash right after the feed append leaves: the change, but no stored pair.
    await svc.app.domain.changes.append(a.id, {
      entity: 'contact',
      op: 'upsert',
      id: friend.id,
      data: { userId: friend.id, displayName: 'x', addedAt: '2025-01-01T00:00:00.000Z' },
    });
    expect((await list(a)).items).toEqual([]);
    // The client retries: nothing new goes to the feed, and the store and mirror catch up.
    const retry = await put(a, friend.id);
    expect(retry.json().addedAt).toBe('2025-01-01T00:00:00.000Z');
    expect((await list(a)).items.map((c: { userId: string }) => c.userId)).toEqual([friend.id]);
    expect(await svc.app.redis.sismember(keys.contactWatchers(friend.id), a.id)).toBe(1);
    expect((await drainSync(svc.app, a)).changes).toHaveLength(1);
  });

  it('refuses yourself (400), unknown users (404) and malformed ids (400)', async () => {
    const self = await put(me, me.id);
    expect(self.statusCode).toBe(400);
    expect(self.json().error.code).toBe('BAD_REQUEST');
    const unknown = await put(me, newId());
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('USER_NOT_FOUND');
    expect((await del(me, newId())).statusCode).toBe(404);
    for (const bad of ['%24ne', 'a.b', 'x'.repeat(65)]) {
      const res = await put(me, bad);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('keeps a contact limit (409 past MAX_CONTACTS)', async () => {
    const a = await withProfile(svc.app);
    for (let i = 0; i < 3; i++) expect((await put(a, (await withProfile(svc.app)).id)).statusCode).toBe(200);
    const over = await put(a, (await withProfile(svc.app)).id);
    expect(over.statusCode).toBe(409);
    expect(over.json().error.code).toBe('CONFLICT');
  });

  it('needs a token', async () => {
    expect((await svc.app.inject({ url: '/api/users/me/contacts' })).statusCode).toBe(401);
    expect((await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${me.id}` })).statusCode).toBe(
      401,
    );
  });
});

describe('blocks', () => {
  let svc: TestService;
  const put = (a: Account, id: string) =>
    svc.app.inject({ method: 'PUT', url: `/api/users/me/blocks/${id}`, headers: a.headers });
  const del = (a: Account, id: string) =>
    svc.app.inject({ method: 'DELETE', url: `/api/users/me/blocks/${id}`, headers: a.headers });

  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc.app.close());

  it('blocks and unblocks, mirrored into keys.blocks and listed', async () => {
    const me = await withProfile(svc.app);
    const pest = await withProfile(svc.app);
    const res = await put(me, pest.id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ userId: pest.id, blockedAt: expect.any(String) });
    expect(await svc.app.redis.smembers(keys.blocks(me.id))).toEqual([pest.id]);
    expect((await svc.app.inject({ url: '/api/users/me/blocks', headers: me.headers })).json()).toEqual({
      items: [res.json()],
    });
    expect((await put(me, pest.id)).json()).toEqual(res.json());

    expect((await del(me, pest.id)).statusCode).toBe(204);
    expect(await svc.app.redis.exists(keys.blocks(me.id))).toBe(0);
    expect((await svc.app.inject({ url: '/api/users/me/blocks', headers: me.headers })).json()).toEqual({
      items: [],
    });
    expect((await del(me, pest.id)).statusCode).toBe(204);
    const { changes } = await drainSync(svc.app, me);
    expect(changes.map((c) => [c.entity, c.op, c.id])).toEqual([
      ['block', 'upsert', pest.id],
      ['block', 'delete', pest.id],
    ]);
  });

  it('stops the blocked person from watching the blocker, and restores it on unblock', async () => {
    const blocker = await withProfile(svc.app);
    const fan = await withProfile(svc.app);
    // Contacts both ways first (the blocker had accepted the fan).
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/contacts/${fan.id}`,
      headers: blocker.headers,
    });
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/contacts/${blocker.id}`,
      headers: fan.headers,
    });
    expect(await svc.app.redis.sismember(keys.contactWatchers(blocker.id), fan.id)).toBe(1);
    await put(blocker, fan.id);
    expect(await svc.app.redis.sismember(keys.contactWatchers(blocker.id), fan.id)).toBe(0);
    // Adding the blocker again while blocked does not start the watching either.
    await svc.app.inject({
      method: 'DELETE',
      url: `/api/users/me/contacts/${blocker.id}`,
      headers: fan.headers,
    });
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/contacts/${blocker.id}`,
      headers: fan.headers,
    });
    expect(await svc.app.redis.sismember(keys.contactWatchers(blocker.id), fan.id)).toBe(0);
    await del(blocker, fan.id);
    expect(await svc.app.redis.sismember(keys.contactWatchers(blocker.id), fan.id)).toBe(1);
  });

  it('refuses yourself, unknown and malformed ids', async () => {
    const me = await withProfile(svc.app);
    expect((await put(me, me.id)).statusCode).toBe(400);
    expect((await put(me, newId())).json().error.code).toBe('USER_NOT_FOUND');
    expect((await put(me, 'bad id')).statusCode).toBe(400);
    expect((await svc.app.inject({ method: 'PUT', url: `/api/users/me/blocks/${me.id}` })).statusCode).toBe(
      401,
    );
  });
});

describe('concurrent changes to one pair', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc.app.close());

  it('leave the stored state, the Redis mirror and the last feed entry in agreement', async () => {
    const me = await withProfile(svc.app);
    const friend = await withProfile(svc.app);
    await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${me.id}`, headers: friend.headers });
    const ops = Array.from({ length: 30 }, (_, i) =>
      svc.app.inject({
        method: i % 2 ? 'DELETE' : 'PUT',
        url: `/api/users/me/contacts/${friend.id}`,
        headers: me.headers,
      }),
    );
    for (const res of await Promise.all(ops)) expect([200, 204]).toContain(res.statusCode);
    const { changes } = await drainSync(svc.app, me);
    const last = changes.filter((c) => c.entity === 'contact').at(-1);
    const stored = await svc.app.domain.contacts.get(me.id, friend.id);
    const listed = (await svc.app.inject({ url: '/api/users/me/contacts', headers: me.headers })).json().items
      .length;
    expect(last?.op === 'upsert').toBe(stored?.active === true);
    expect(listed).toBe(stored?.active ? 1 : 0);
    expect(await svc.app.redis.sismember(keys.contactWatchers(friend.id), me.id)).toBe(
      stored?.active ? 1 : 0,
    );
  });
});
