// The reach mirror (keys.reach, keys.blocks, keys.contacts) must say what MongoDB says after every change
// call set-up depends on, and be rebuilt when it is missing. Each step compares the mirror as the call
// service reads it (reachFromMirror) with the user service's own answer from MongoDB.
import { reachFromMirror } from '@voip/contracts/reach-mirror';
import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeGuests } from '../../src/accounts/guest-removal.js';
import {
  type Account,
  eventually,
  internalHeaders,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

describe('reach mirror', () => {
  let svc: TestService;
  let bob: Account;
  let alice: Account;
  beforeAll(async () => {
    svc = await startUserService();
    bob = await withProfile(svc.app, 'user', 'Bob');
    alice = await withProfile(svc.app, 'guest', 'Alice');
  });
  afterAll(() => svc.app.close());

  /** The mirror as the call service reads it, for callee → caller. */
  async function fromMirror(calleeId: string, callerId: string) {
    const r = svc.app.redis;
    const [hash, blocked, contact] = await Promise.all([
      r.hgetall(keys.reach(calleeId)),
      r.sismember(keys.blocks(calleeId), callerId),
      r.sismember(keys.contacts(calleeId), callerId),
    ]);
    return reachFromMirror(Object.keys(hash).length > 0 ? hash : null, blocked === 1, contact === 1);
  }
  async function fromMongo(calleeId: string, callerId: string) {
    const res = await svc.app.inject({
      url: `/internal/users/${calleeId}/reachability?callerId=${callerId}`,
      headers: internalHeaders,
    });
    expect(res.statusCode).toBe(200);
    return res.json();
  }
  const send = (a: Account, method: 'PUT' | 'DELETE' | 'PATCH', url: string, payload?: object) =>
    svc.app
      .inject({ method, url, headers: a.headers, ...(payload ? { payload } : {}) })
      .then((res) => expect(res.statusCode).toBeLessThan(300));

  it('is written with the profile and follows block/unblock, contacts, DND and the incoming-calls setting', async () => {
    expect(await fromMirror(bob.id, alice.id)).toEqual({
      exists: true,
      kind: 'user',
      displayName: 'Bob',
      blocked: false,
      doNotDisturb: false,
      incomingCalls: 'registered',
      contact: false,
    });
    expect(await fromMirror(bob.id, alice.id)).toEqual(await fromMongo(bob.id, alice.id));

    await send(bob, 'PUT', `/api/users/me/blocks/${alice.id}`);
    expect(await fromMirror(bob.id, alice.id)).toMatchObject({ blocked: true });
    await send(bob, 'DELETE', `/api/users/me/blocks/${alice.id}`);
    expect(await fromMirror(bob.id, alice.id)).toMatchObject({ blocked: false });

    await send(bob, 'PUT', `/api/users/me/contacts/${alice.id}`);
    expect(await fromMirror(bob.id, alice.id)).toMatchObject({ contact: true });

    await send(bob, 'PATCH', '/api/users/me', { incomingCalls: 'contacts', doNotDisturb: true });
    expect(await fromMirror(bob.id, alice.id)).toMatchObject({
      incomingCalls: 'contacts',
      doNotDisturb: true,
      contact: true,
    });
    await send(bob, 'PATCH', '/api/users/me', { displayName: 'Robert', doNotDisturb: false });
    await send(bob, 'DELETE', `/api/users/me/contacts/${alice.id}`);
    expect(await fromMirror(bob.id, alice.id)).toMatchObject({
      displayName: 'Robert',
      doNotDisturb: false,
      contact: false,
    });
    expect(await fromMirror(bob.id, alice.id)).toEqual(await fromMongo(bob.id, alice.id));
  });

  it('is removed with a deleted guest, and with its place in the sets of those who had it as a contact', async () => {
    const guest = await withProfile(svc.app, 'guest', 'Passing');
    await send(bob, 'PUT', `/api/users/me/contacts/${guest.id}`);
    expect(await fromMirror(guest.id, bob.id)).toMatchObject({ exists: true, kind: 'guest' });
    expect(await fromMirror(bob.id, guest.id)).toMatchObject({ contact: true });

    expect(await removeGuests(svc.app.domain, [guest.id])).toBe(1);
    // Absent, not "no such user": the reader asks the user service, which says the guest is gone.
    expect(await fromMirror(guest.id, bob.id)).toBeNull();
    expect(await fromMongo(guest.id, bob.id)).toEqual({ exists: false, blocked: false, doNotDisturb: false });
    expect(await svc.app.redis.sismember(keys.contacts(bob.id), guest.id)).toBe(0);
  });

  it('is rebuilt from MongoDB after a miss (Redis lost it): the fallback lookup repairs it', async () => {
    await send(bob, 'PUT', `/api/users/me/blocks/${alice.id}`);
    await send(bob, 'PATCH', '/api/users/me', { incomingCalls: 'everyone' });
    await svc.app.redis.del(keys.reach(bob.id), keys.blocks(bob.id), keys.contacts(bob.id));
    expect(await fromMirror(bob.id, alice.id)).toBeNull();

    const truth = await fromMongo(bob.id, alice.id);
    expect(truth).toMatchObject({ blocked: true, incomingCalls: 'everyone' });
    expect(
      await eventually(() => fromMirror(bob.id, alice.id).then((m) => m ?? undefined), 'mirror rebuilt'),
    ).toEqual(truth);
  });
});
