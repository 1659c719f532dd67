// Who may ring whom (the callee's incomingCalls setting and contacts, as the user service answers them),
// the ring and wake-up push windows per pair and per callee, and a stranger's unanswered ring giving way
// to a call from someone the callee knows. The user service is the stand-in (a real HTTP server).
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Account, callEnv, eventually, signIn, startCallService } from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 11;

describe('ring policy: who may ring, how often, and strangers never hold the line', () => {
  let users: UserServiceStandIn;
  let app: App;
  let bob: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    app = await startCallService(
      callEnv(DB, {
        USER_SERVICE_URL: users.url,
        CALL_RATE_LIMIT: '1000',
        RING_LIMIT_PER_PAIR: '3',
        RING_LIMIT_PER_CALLEE_FROM_STRANGERS: '4',
        PUSH_LIMIT_PER_PAIR: '1',
        PUSH_LIMIT_PER_CALLEE_FROM_STRANGERS: '2',
      }),
    );
    await app.redis.flushdb();
  });
  afterAll(async () => {
    await app?.close();
    await users?.close();
  });
  beforeEach(async () => {
    bob = await signIn(app.redis, 'user', 'Bob');
    users.users.set(bob.id, { displayName: 'Bob', contacts: new Set() });
  });

  const call = (from: Account, calleeId: string) =>
    app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: from.headers,
      payload: { calleeId, media: 'audio' },
    });
  const account = async (kind: 'user' | 'guest', name: string) => {
    const a = await signIn(app.redis, kind, name);
    users.users.set(a.id, { displayName: name, kind });
    return a;
  };
  const hangUp = (callId: string) => app.callService.store.transition(callId, { type: 'cancel' });

  it('lets a registered user ring by default, refuses a guest unless invited (a contact), and follows contacts / nobody / everyone', async () => {
    const guest = await account('guest', 'Mallory');
    const refused = await call(guest, bob.id);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().error.code).toBe('BLOCKED');
    expect(await app.callService.store.activeCallOf(bob.id)).toBeNull();

    const carol = await account('user', 'Carol');
    const ok = await call(carol, bob.id);
    expect(ok.statusCode).toBe(201);
    await hangUp(ok.json().callId);

    // Bob invites the guest: adding it as a contact lets it ring.
    users.users.get(bob.id)!.contacts!.add(guest.id);
    const invited = await call(guest, bob.id);
    expect(invited.statusCode).toBe(201);
    await hangUp(invited.json().callId);

    users.users.get(bob.id)!.incomingCalls = 'contacts';
    expect((await call(carol, bob.id)).statusCode).toBe(403);
    const contact = await call(guest, bob.id);
    expect(contact.statusCode).toBe(201);
    await hangUp(contact.json().callId);

    users.users.get(bob.id)!.incomingCalls = 'nobody';
    expect((await call(guest, bob.id)).json().error.code).toBe('BLOCKED');

    users.users.get(bob.id)!.incomingCalls = 'everyone';
    const stranger = await account('guest', 'Passer-by');
    expect((await call(stranger, bob.id)).statusCode).toBe(201);
  });

  it('limits rings per caller→callee pair with 429 RATE_LIMITED and Retry-After', async () => {
    const carol = await account('user', 'Carol');
    for (let i = 0; i < 3; i++) {
      const res = await call(carol, bob.id);
      expect(res.statusCode).toBe(201);
      await hangUp(res.json().callId);
    }
    const limited = await call(carol, bob.id);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(60);
    // Another caller is not affected by that pair's window.
    expect((await call(await account('user', 'Dan'), bob.id)).statusCode).toBe(201);
  });

  it("limits rings per callee from strangers (a new guest each time), never the callee's contacts", async () => {
    users.users.get(bob.id)!.incomingCalls = 'everyone';
    // Dan had rung before too: he is a stranger, counted in the same window.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call(await account('guest', `Guest ${i}`), bob.id);
      statuses.push(res.statusCode);
      if (res.statusCode === 201) await hangUp(res.json().callId);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 429]);
    const friend = await account('user', 'Friend');
    users.users.get(bob.id)!.contacts!.add(friend.id);
    expect((await call(friend, bob.id)).statusCode).toBe(201);
  });

  it("ends a stranger's unanswered ring as busy when a contact calls, while a stranger still finds a contact's ring busy", async () => {
    users.users.get(bob.id)!.incomingCalls = 'everyone';
    const guest = await account('guest', 'Nuisance');
    const friend = await account('user', 'Friend');
    users.users.get(bob.id)!.contacts!.add(friend.id);

    const nuisance = (await call(guest, bob.id)).json();
    const fromFriend = await call(friend, bob.id);
    expect(fromFriend.statusCode).toBe(201);
    expect(await app.callService.store.get(nuisance.callId)).toMatchObject({
      state: 'ended',
      endReason: 'busy',
      outcome: 'busy',
    });
    expect((await app.callService.store.activeCallOf(bob.id))?.callId).toBe(fromFriend.json().callId);

    // The other way round the friend's ring holds: a stranger gets CALLEE_BUSY.
    const other = await call(await account('user', 'Stranger'), bob.id);
    expect(other.statusCode).toBe(409);
    expect(other.json().error.code).toBe('CALLEE_BUSY');
  });

  it('limits wake-up pushes per pair: the call still rings, without a push', async () => {
    const erin = await account('user', 'Erin');
    users.users.get(bob.id)!.devices = [
      { deviceId: 'bob-phone', platform: 'android', pushToken: 'bob-push' },
    ];
    const first = (await call(erin, bob.id)).json();
    await app.callService.push.idle();
    expect((await app.callService.calls.findForParticipant(first.callId, bob.id))?.push).toBe('sent');
    await hangUp(first.callId);
    const second = await call(erin, bob.id);
    expect(second.statusCode).toBe(201);
    await app.callService.push.idle();
    // Written behind the stream (call.created): the request itself writes no record.
    expect(
      await eventually(
        async () => (await app.callService.calls.findForParticipant(second.json().callId, bob.id))?.push,
      ),
    ).toBe('none');
  });
});
