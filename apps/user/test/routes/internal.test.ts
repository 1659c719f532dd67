import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  internalHeaders,
  newId,
  signIn,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

describe('internal lookups', () => {
  let svc: TestService;
  let callee: Account;
  let caller: Account;
  beforeAll(async () => {
    svc = await startUserService();
    callee = await withProfile(svc.app, 'user', 'Callee');
    caller = await withProfile(svc.app, 'user', 'Caller');
  });
  afterAll(() => svc.app.close());

  const reach = (userId: string, callerId: string, headers: Record<string, string> = internalHeaders) =>
    svc.app.inject({ url: `/internal/users/${userId}/reachability?callerId=${callerId}`, headers });

  it('says whether a user exists, has blocked the caller, or is on do-not-disturb', async () => {
    expect((await reach(callee.id, caller.id)).json()).toEqual({
      exists: true,
      kind: 'user',
      displayName: 'Callee',
      blocked: false,
      doNotDisturb: false,
      incomingCalls: 'registered',
      contact: false,
    });
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/blocks/${caller.id}`,
      headers: callee.headers,
    });
    await svc.app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: callee.headers,
      payload: { doNotDisturb: true },
    });
    expect((await reach(callee.id, caller.id)).json()).toMatchObject({ blocked: true, doNotDisturb: true });
    // Blocking is directed: the callee calling the caller is not blocked.
    expect((await reach(caller.id, callee.id)).json()).toMatchObject({ exists: true, blocked: false });
    expect((await reach(newId(), caller.id)).json()).toEqual({
      exists: false,
      blocked: false,
      doNotDisturb: false,
    });
  });

  it("says who may ring (the callee's setting, its default by kind) and whether the caller is the callee's contact", async () => {
    const owner = await withProfile(svc.app, 'user', 'Owner');
    const guest = await withProfile(svc.app, 'guest', 'Visitor');
    expect((await reach(owner.id, guest.id)).json()).toMatchObject({
      incomingCalls: 'registered',
      contact: false,
    });
    expect((await reach(guest.id, owner.id)).json()).toMatchObject({
      incomingCalls: 'everyone',
      contact: false,
    });
    // The owner invites the guest (adds it as a contact) and lets only contacts ring.
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/contacts/${guest.id}`,
      headers: owner.headers,
    });
    const set = await svc.app.inject({
      method: 'PATCH',
      url: '/api/users/me',
      headers: owner.headers,
      payload: { incomingCalls: 'contacts' },
    });
    expect(set.json()).toMatchObject({ incomingCalls: 'contacts' });
    expect((await reach(owner.id, guest.id)).json()).toMatchObject({
      incomingCalls: 'contacts',
      contact: true,
    });
    // Contacts are directed: the guest has not added the owner.
    expect((await reach(guest.id, owner.id)).json()).toMatchObject({ contact: false });
  });

  it('refuses malformed input', async () => {
    expect((await reach(callee.id, 'bad id')).statusCode).toBe(400);
    expect(
      (await svc.app.inject({ url: `/internal/users/${callee.id}/reachability`, headers: internalHeaders }))
        .statusCode,
    ).toBe(400);
    const bad = await svc.app.inject({
      method: 'POST',
      url: '/internal/push-tokens/invalidate',
      headers: internalHeaders,
      payload: { pushTokens: [] },
    });
    expect(bad.statusCode).toBe(400);
    const tooMany = await svc.app.inject({
      method: 'POST',
      url: '/internal/push-tokens/invalidate',
      headers: internalHeaders,
      payload: { pushTokens: Array.from({ length: 501 }, (_, i) => `t${i}`) },
    });
    expect(tooMany.statusCode).toBe(400);
  });

  it('invalidates push tokens the provider refused', async () => {
    const a = await withProfile(svc.app);
    for (const [id, token] of [
      ['d1', 'dead-1'],
      ['d2', 'alive'],
      ['d3', 'dead-2'],
    ])
      await svc.app.inject({
        method: 'PUT',
        url: `/api/users/me/devices/${id}`,
        headers: a.headers,
        payload: { platform: 'android', pushToken: token },
      });
    const res = await svc.app.inject({
      method: 'POST',
      url: '/internal/push-tokens/invalidate',
      headers: internalHeaders,
      payload: { pushTokens: ['dead-1', 'dead-2', 'dead-1', 'never-registered'] },
    });
    expect(res.json()).toEqual({ removed: 2 });
    const devices = (
      await svc.app.inject({ url: `/internal/users/${a.id}/devices`, headers: internalHeaders })
    ).json();
    expect(devices).toEqual({ devices: [{ deviceId: 'd2', platform: 'android', pushToken: 'alive' }] });
  });

  it('refuses user, guest and admin tokens, a wrong credential, and no credential', async () => {
    const admin = await signIn(svc.app, 'admin');
    const guest = await signIn(svc.app, 'guest');
    const urls = [
      { method: 'GET' as const, url: `/internal/users/${callee.id}/reachability?callerId=${caller.id}` },
      { method: 'GET' as const, url: `/internal/users/${callee.id}/devices` },
      { method: 'POST' as const, url: '/internal/push-tokens/invalidate', payload: { pushTokens: ['x'] } },
    ];
    for (const r of urls) {
      for (const who of [caller, guest, admin]) {
        const res = await svc.app.inject({ ...r, headers: who.headers });
        expect(res.statusCode, `${who.kind} ${r.url}`).toBe(403);
        expect(res.json().error.code).toBe('FORBIDDEN');
      }
      expect(
        (await svc.app.inject({ ...r, headers: { 'x-internal-token': 'wrong-token-wrong-token-wrong' } }))
          .statusCode,
      ).toBe(401);
      expect((await svc.app.inject(r)).statusCode).toBe(401);
    }
  });
});
