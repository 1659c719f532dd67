// Call set-up reads the callee from the user service's reach mirror in Redis and asks the user service
// only when the mirror is absent. The stand-in user service hangs while the mirror is there: a call that
// still went over HTTP would be a 503 after USER_SERVICE_TIMEOUT_MS.
import { reachMirrorFields } from '@voip/contracts/reach-mirror';
import { keys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Account, callEnv, signIn, startCallService } from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 2;

describe('call set-up from the reach mirror', () => {
  let users: UserServiceStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    app = await startCallService(
      callEnv(DB, { USER_SERVICE_URL: users.url, USER_SERVICE_TIMEOUT_MS: '1500' }),
    );
    await app.redis.flushdb();
  });
  afterAll(async () => {
    await app?.close();
    await users?.close();
  });
  beforeEach(async () => {
    alice = await signIn(app.redis, 'user', 'Alice');
    bob = await signIn(app.redis, 'user', 'Bob');
    users.mode = 'up';
  });

  const call = (from: Account, calleeId: string) =>
    app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: from.headers,
      payload: { calleeId, media: 'audio' },
    });
  const mirror = (userId: string, p: Partial<Parameters<typeof reachMirrorFields>[0]> = {}) =>
    app.redis.hset(
      keys.reach(userId),
      reachMirrorFields({
        kind: 'user',
        displayName: 'Bob',
        doNotDisturb: false,
        incomingCalls: 'registered',
        ...p,
      }),
    );

  it('rings from the mirror alone: the user service is not asked', async () => {
    await mirror(bob.id);
    users.mode = 'hang';
    const res = await call(alice, bob.id);
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ state: 'ringing' });
  });

  it("refuses what the mirror says: a block, the callee's setting, do-not-disturb", async () => {
    users.mode = 'hang';
    await mirror(bob.id);
    await app.redis.sadd(keys.blocks(bob.id), alice.id);
    expect((await call(alice, bob.id)).json()).toMatchObject({ error: { code: 'BLOCKED' } });

    const carol = await signIn(app.redis, 'user', 'Carol');
    await mirror(carol.id, { incomingCalls: 'contacts' });
    expect((await call(alice, carol.id)).json()).toMatchObject({ error: { code: 'BLOCKED' } });
    await app.redis.sadd(keys.contacts(carol.id), alice.id);
    expect((await call(alice, carol.id)).statusCode).toBe(201);

    const dave = await signIn(app.redis, 'user', 'Dave');
    await mirror(dave.id, { doNotDisturb: true });
    const dnd = await call(alice, dave.id);
    expect(dnd.statusCode).toBe(409);
    expect(dnd.json()).toMatchObject({
      error: { code: 'CALLEE_BUSY', details: { reason: 'do-not-disturb' } },
    });
  });

  it('asks the user service when the mirror is absent, and never takes a miss for "no such user"', async () => {
    users.users.set(bob.id, { displayName: 'Bob', blocked: new Set([alice.id]) });
    expect((await call(alice, bob.id)).json()).toMatchObject({ error: { code: 'BLOCKED' } });
    users.users.set(bob.id, { displayName: 'Bob' });
    expect((await call(alice, bob.id)).statusCode).toBe(201);
    // Unknown to the mirror and to the service: 404; unknown to the mirror only: asked, not refused.
    const ghost = await signIn(app.redis, 'user', 'Ghost');
    expect((await call(alice, ghost.id)).json()).toMatchObject({ error: { code: 'USER_NOT_FOUND' } });
    // An unreadable hash is a miss too (asked), not a wrong answer.
    const erin = await signIn(app.redis, 'user', 'Erin');
    await app.redis.hset(keys.reach(erin.id), { kind: 'martian' });
    users.users.set(erin.id, { displayName: 'Erin', incomingCalls: 'nobody' });
    expect((await call(bob, erin.id)).json()).toMatchObject({ error: { code: 'BLOCKED' } });
  });
});
