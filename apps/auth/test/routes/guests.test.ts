import { TEST_INTERNAL_TOKEN } from '@voip/testkit/env';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type AuthApp,
  accountEvents,
  authEnv,
  bearer,
  createGuest,
  listen,
  register,
  registerAdmin,
  startAuth,
} from '../helpers.js';

const internal = { 'x-internal-token': TEST_INTERNAL_TOKEN };

describe('guest sessions and housekeeping', () => {
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
  // Every test counts what it deletes, so each starts from no guests (this app has its own database).
  beforeEach(async () => {
    await app.accounts.guests.model.deleteMany({});
  });

  const guestEvents = async (type: string) => (await accountEvents(app.redis)).filter((e) => e.type === type);
  const setLastSeen = (guestId: string, at: string) =>
    app.accounts.guests.model.updateOne({ _id: guestId }, { $set: { lastSeenAt: new Date(at) } });

  it('POST /guest: 201 with the guest and a token pair; /me knows it as a guest', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/guest',
      payload: { displayName: 'Visitor' },
    });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toEqual({
      guest: { id: expect.any(String), displayName: 'Visitor' },
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresIn: 900,
    });
    const me = await app.inject({ url: '/api/auth/me', headers: bearer(body.accessToken) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toMatchObject({ id: body.guest.id, kind: 'guest', displayName: 'Visitor' });
    expect(me.json().username).toBeUndefined();
  });

  it('stores the guest with createdAt and lastSeenAt, and appends guest.created', async () => {
    const g = await createGuest(app, 'Stored');
    const doc = await app.accounts.guests.findById(g.guestId);
    expect(doc).toMatchObject({ id: g.guestId, displayName: 'Stored' });
    expect(doc?.createdAt).toBeInstanceOf(Date);
    expect(doc?.lastSeenAt.getTime()).toBe(doc?.createdAt.getTime());
    const events = (await guestEvents('guest.created')).filter((e) => e.data.guestId === g.guestId);
    expect(events).toHaveLength(1);
    expect(events[0]?.data).toEqual({
      guestId: g.guestId,
      displayName: 'Stored',
      createdAt: doc?.createdAt.toISOString(),
    });
  });

  it('moves lastSeenAt when the guest refreshes', async () => {
    const g = await createGuest(app);
    await setLastSeen(g.guestId, '2020-01-01T00:00:00Z');
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: g.refreshToken },
    });
    expect(res.statusCode).toBe(200);
    expect((await app.accounts.guests.findById(g.guestId))?.lastSeenAt.getFullYear()).toBeGreaterThan(2020);
  });

  describe('permissions', () => {
    const routes = [
      '/api/auth/guest/cleanup-all',
      '/api/auth/guest/01J0000000000000000000GUES',
      '/api/auth/guest/cleanup?before=2020-01-01T00:00:00Z',
    ];

    it('refuses a user token and a guest token with 403, and nothing is deleted', async () => {
      const user = await register(app);
      const g = await createGuest(app);
      for (const url of routes) {
        for (const token of [user.accessToken, g.accessToken]) {
          const res = await app.inject({ method: 'DELETE', url, headers: bearer(token) });
          expect(res.statusCode).toBe(403);
          expect(res.json().error.code).toBe('FORBIDDEN');
        }
      }
      expect(await app.accounts.guests.findById(g.guestId)).not.toBeNull();
    });

    it('refuses no credential (401) and a wrong internal token (401)', async () => {
      for (const url of routes) {
        expect((await app.inject({ method: 'DELETE', url })).statusCode).toBe(401);
        expect(
          (
            await app.inject({
              method: 'DELETE',
              url,
              headers: { 'x-internal-token': 'wrong-wrong-wrong-wrong-wrong' },
            })
          ).statusCode,
        ).toBe(401);
      }
    });

    it('a user token with a bad query still gets 403, not a validation answer', async () => {
      const user = await register(app);
      const res = await app.inject({
        method: 'DELETE',
        url: '/api/auth/guest/cleanup?before=yesterday',
        headers: bearer(user.accessToken),
      });
      expect(res.statusCode).toBe(403);
    });
  });

  it('DELETE /guest/cleanup-all with the internal credential deletes every guest and says how many', async () => {
    const a = await createGuest(app);
    const b = await createGuest(app);
    const res = await app.inject({ method: 'DELETE', url: '/api/auth/guest/cleanup-all', headers: internal });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: 2 });
    expect(await app.accounts.guests.model.countDocuments()).toBe(0);
    const deleted = (await guestEvents('guest.deleted')).find((e) =>
      (e.data.guestIds as string[]).includes(a.guestId),
    );
    expect([...((deleted?.data.guestIds as string[] | undefined) ?? [])].sort()).toEqual(
      [a.guestId, b.guestId].sort(),
    );
    // Their sessions are gone: tokens refused, refresh refused, revocation on the bus.
    for (const g of [a, b]) {
      expect((await app.inject({ url: '/api/auth/me', headers: bearer(g.accessToken) })).statusCode).toBe(
        401,
      );
      expect(
        (
          await app.inject({
            method: 'POST',
            url: '/api/auth/refresh',
            payload: { refreshToken: g.refreshToken },
          })
        ).statusCode,
      ).toBe(401);
    }
    await vi.waitFor(() => {
      const ids = revoked.received.filter((e) => e.reason === 'guest-deleted').map((e) => e.userId);
      expect(ids).toEqual(expect.arrayContaining([a.guestId, b.guestId]));
    });
    expect(
      (await app.inject({ method: 'DELETE', url: '/api/auth/guest/cleanup-all', headers: internal })).json(),
    ).toEqual({ deleted: 0 });
  });

  it('DELETE /guest/:guestId with an admin token deletes that guest only', async () => {
    const a = await createGuest(app);
    const b = await createGuest(app);
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/auth/guest/${a.guestId}`,
      headers: bearer(admin),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: 1 });
    expect(await app.accounts.guests.findById(a.guestId)).toBeNull();
    expect(await app.accounts.guests.findById(b.guestId)).not.toBeNull();
    expect((await app.inject({ url: '/api/auth/me', headers: bearer(a.accessToken) })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/auth/me', headers: bearer(b.accessToken) })).statusCode).toBe(200);
    expect(
      (await guestEvents('guest.deleted')).some(
        (e) => JSON.stringify(e.data.guestIds) === JSON.stringify([a.guestId]),
      ),
    ).toBe(true);
    const again = await app.inject({
      method: 'DELETE',
      url: `/api/auth/guest/${a.guestId}`,
      headers: bearer(admin),
    });
    expect(again.json()).toEqual({ deleted: 0 });
  });

  it('DELETE /guest/:guestId never deletes a registered user', async () => {
    const user = await register(app);
    const res = await app.inject({
      method: 'DELETE',
      url: `/api/auth/guest/${user.userId}`,
      headers: internal,
    });
    expect(res.json()).toEqual({ deleted: 0 });
    expect((await app.inject({ url: '/api/auth/me', headers: bearer(user.accessToken) })).statusCode).toBe(
      200,
    );
  });

  it('DELETE /guest/cleanup?before= deletes the guests not seen since then', async () => {
    const old1 = await createGuest(app);
    const old2 = await createGuest(app);
    const recent = await createGuest(app);
    await setLastSeen(old1.guestId, '2024-01-01T00:00:00Z');
    await setLastSeen(old2.guestId, '2024-02-01T00:00:00Z');
    const res = await app.inject({
      method: 'DELETE',
      url: '/api/auth/guest/cleanup?before=2024-03-01T00:00:00Z',
      headers: bearer(admin),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ deleted: 2 });
    expect(await app.accounts.guests.findById(recent.guestId)).not.toBeNull();
    expect(await app.accounts.guests.findById(old1.guestId)).toBeNull();
  });

  it('DELETE /guest/cleanup needs a valid ISO before', async () => {
    for (const q of ['', '?before=yesterday', '?before=2024-01-01T00:00:00Z&extra=1']) {
      const res = await app.inject({
        method: 'DELETE',
        url: `/api/auth/guest/cleanup${q}`,
        headers: internal,
      });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });
});
