import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAccountEvent } from '../../src/accounts/account-events.js';
import {
  type Account,
  drainSync,
  envelope,
  internalHeaders,
  newId,
  signIn,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

describe('guest housekeeping', () => {
  let svc: TestService;
  let admin: Account;
  beforeAll(async () => {
    svc = await startUserService();
    admin = await signIn(svc.app, 'admin');
  });
  afterAll(() => svc.app.close());

  const guestCreatedAt = async (createdAt: string) => {
    const id = newId();
    await applyAccountEvent(
      svc.app.domain,
      envelope('guest.created', { guestId: id, displayName: 'Guest', createdAt }),
    );
    return id;
  };

  it('refuses users and guests (403) and anonymous callers (401)', async () => {
    const user = await signIn(svc.app, 'user');
    const guest = await signIn(svc.app, 'guest');
    for (const url of [
      '/api/users/guests/cleanup-all',
      '/api/users/guests/cleanup?before=2030-01-01T00:00:00Z',
      // Refused before the query is looked at: no 400 that tells a stranger about the route.
      '/api/users/guests/cleanup?before=not-a-date',
    ]) {
      for (const who of [user, guest]) {
        const res = await svc.app.inject({ method: 'DELETE', url, headers: who.headers });
        expect(res.statusCode, `${who.kind} ${url}`).toBe(403);
      }
      expect((await svc.app.inject({ method: 'DELETE', url })).statusCode).toBe(401);
    }
  });

  it('removes guests created before a time, with the internal credential', async () => {
    const old1 = await guestCreatedAt('2020-01-01T00:00:00.000Z');
    const old2 = await guestCreatedAt('2020-06-01T00:00:00.000Z');
    const recent = await guestCreatedAt('2030-01-01T00:00:00.000Z');
    const user = await withProfile(svc.app);
    await svc.app.domain.profiles.model.updateOne(
      { _id: user.id },
      { $set: { createdAt: new Date('2019-01-01T00:00:00Z') } },
    );
    const res = await svc.app.inject({
      method: 'DELETE',
      url: '/api/users/guests/cleanup?before=2021-01-01T00:00:00Z',
      headers: internalHeaders,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: 2 });
    expect(await svc.app.domain.profiles.get(old1)).toBeNull();
    expect(await svc.app.domain.profiles.get(old2)).toBeNull();
    expect(await svc.app.domain.profiles.get(recent)).not.toBeNull();
    // Registered users are never touched, however old.
    expect(await svc.app.domain.profiles.get(user.id)).not.toBeNull();
  });

  it('refuses a missing or malformed `before`', async () => {
    for (const url of [
      '/api/users/guests/cleanup',
      '/api/users/guests/cleanup?before=yesterday',
      '/api/users/guests/cleanup?before[$gt]=x',
    ]) {
      const res = await svc.app.inject({ method: 'DELETE', url, headers: admin.headers });
      expect(res.statusCode, url).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('removes every guest with an admin token, and everything that hangs off them', async () => {
    const user = await withProfile(svc.app);
    const guest = await withProfile(svc.app, 'guest', 'Passing Guest');
    await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${guest.id}`, headers: user.headers });
    await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${user.id}`, headers: guest.headers });
    await svc.app.inject({ method: 'PUT', url: `/api/users/me/blocks/${guest.id}`, headers: user.headers });
    await svc.app.inject({
      method: 'PUT',
      url: '/api/users/me/devices/g1',
      headers: guest.headers,
      payload: { platform: 'web', pushToken: 'guest-token' },
    });
    await svc.app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: guest.headers,
      payload: { doNotDisturb: true },
    });
    // A presence entry signaling left behind (a guest that never disconnected cleanly).
    await svc.app.redis.hset(keys.presence(guest.id), {
      status: 'online',
      lastSeenAt: new Date().toISOString(),
    });
    const { cursor } = await drainSync(svc.app, user);

    const res = await svc.app.inject({
      method: 'DELETE',
      url: '/api/users/guests/cleanup-all',
      headers: admin.headers,
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().deleted).toBeGreaterThanOrEqual(1);
    expect(await svc.app.domain.profiles.guestIds(null, 10)).toEqual([]);

    expect((await svc.app.inject({ url: `/api/users/${guest.id}`, headers: user.headers })).statusCode).toBe(
      404,
    );
    expect(
      (await svc.app.inject({ url: '/api/users/me/contacts', headers: user.headers })).json().items,
    ).toEqual([]);
    expect(
      (await svc.app.inject({ url: '/api/users/me/blocks', headers: user.headers })).json().items,
    ).toEqual([]);
    expect(
      (await svc.app.inject({ url: `/internal/users/${guest.id}/devices`, headers: internalHeaders })).json()
        .devices,
    ).toEqual([]);
    expect(await svc.app.redis.sismember(keys.contactWatchers(user.id), guest.id)).toBe(0);
    expect(
      await svc.app.redis.exists(
        keys.contactWatchers(guest.id),
        keys.dnd(guest.id),
        keys.blocks(user.id),
        keys.presence(guest.id),
      ),
    ).toBe(0);
    // The user's offline client learns that the guest left its contacts and blocks.
    const { changes } = await drainSync(svc.app, user, cursor);
    expect(changes.map((c) => [c.entity, c.op, c.id]).sort()).toEqual([
      ['block', 'delete', guest.id],
      ['contact', 'delete', guest.id],
    ]);
  });
});
