import { streams } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type Account,
  callEnv,
  connectDevice,
  eventually,
  signIn,
  startCallService,
} from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 5;

describe('POST /api/calls', () => {
  let users: UserServiceStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    app = await startCallService(
      callEnv(DB, { USER_SERVICE_URL: users.url, USER_SERVICE_TIMEOUT_MS: '2000', CALL_RATE_LIMIT: '6' }),
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
    users.users.set(alice.id, { displayName: 'Alice' });
    users.users.set(bob.id, { displayName: 'Bob' });
    users.mode = 'up';
  });

  const call = (from: Account, calleeId: string, media = 'audio', url = '/api/calls') =>
    app.inject({ method: 'POST', url, headers: from.headers, payload: { calleeId, media } });

  it('creates a ringing call with ICE servers and a ring deadline, and records it', async () => {
    const before = Date.now();
    const res = await call(alice, bob.id, 'video');
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body).toMatchObject({ state: 'ringing', iceServers: expect.any(Array) });
    expect(Date.parse(body.expiresAt)).toBeGreaterThanOrEqual(before + 29_000);
    const live = await app.callService.store.get(body.callId);
    expect(live).toMatchObject({
      callerId: alice.id,
      calleeId: bob.id,
      media: 'video',
      state: 'ringing',
      callerName: 'Alice',
    });
    // Written behind the stream (call.created, by the history consumer), not by the request.
    const stored = await eventually(
      async () => (await app.callService.calls.findForParticipant(body.callId, alice.id)) ?? undefined,
    );
    expect(stored).toMatchObject({ state: 'ringing', callerId: alice.id, calleeId: bob.id });
    const events = await app.redis.xrange(streams.callEvents, '-', '+');
    expect(
      events.some(([, fields]) => fields[1]?.includes(body.callId) && fields[1].includes('"call.created"')),
    ).toBe(true);
  });

  it('answers the same on the /initiate alias', async () => {
    const res = await call(alice, bob.id, 'audio', '/api/calls/initiate');
    expect(res.statusCode).toBe(201);
    expect(res.json().state).toBe('ringing');
  });

  it('refuses an unknown callee with 404 USER_NOT_FOUND', async () => {
    const res = await call(alice, 'NOBODY0000000000000000000');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('USER_NOT_FOUND');
  });

  it('refuses a caller the callee blocked with 403 BLOCKED', async () => {
    users.users.get(bob.id)!.blocked = new Set([alice.id]);
    const res = await call(alice, bob.id);
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('BLOCKED');
    expect(await app.callService.store.activeCallOf(alice.id)).toBeNull();
  });

  it('answers 409 CALLEE_BUSY when the callee is on do-not-disturb', async () => {
    users.users.get(bob.id)!.doNotDisturb = true;
    const res = await call(alice, bob.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().error).toMatchObject({ code: 'CALLEE_BUSY', details: { reason: 'do-not-disturb' } });
  });

  it('answers 409 CALLEE_BUSY when the callee is already in a call, and CALLER_BUSY when the caller is', async () => {
    const carol = await signIn(app.redis, 'user', 'Carol');
    users.users.set(carol.id, { displayName: 'Carol' });
    expect((await call(bob, carol.id)).statusCode).toBe(201);

    const busyCallee = await call(alice, bob.id);
    expect(busyCallee.statusCode).toBe(409);
    expect(busyCallee.json().error.code).toBe('CALLEE_BUSY');

    const busyCaller = await call(bob, alice.id);
    expect(busyCaller.statusCode).toBe(409);
    expect(busyCaller.json().error.code).toBe('CALLER_BUSY');
  });

  it('refuses calling yourself with 400', async () => {
    const res = await call(alice, alice.id);
    expect(res.statusCode).toBe(400);
  });

  it('validates the body and needs a token', async () => {
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/api/calls',
          headers: alice.headers,
          payload: { calleeId: bob.id, media: 'fax' },
        })
      ).statusCode,
    ).toBe(400);
    expect(
      (await app.inject({ method: 'POST', url: '/api/calls', payload: { calleeId: bob.id, media: 'audio' } }))
        .statusCode,
    ).toBe(401);
  });

  it('resolves glare: the second call is born ended and names the surviving call, with ICE servers for it', async () => {
    const first = await call(alice, bob.id);
    expect(first.statusCode).toBe(201);
    const second = await call(bob, alice.id);
    expect(second.statusCode).toBe(201);
    const a = first.json();
    const b = second.json();
    expect(b).toMatchObject({ state: 'ended', replacedBy: a.callId, expiresAt: a.expiresAt });
    expect(b.callId).not.toBe(a.callId);
    expect((await app.callService.store.get(a.callId))?.state).toBe('ringing');
    expect(await app.callService.store.get(b.callId)).toMatchObject({
      state: 'ended',
      endReason: 'cancelled',
      replacedBy: a.callId,
    });
  });

  it('records push "none" when the callee has a connected device, and when an offline callee has no devices to wake', async () => {
    await connectDevice(app.redis, bob.id);
    const online = (await call(alice, bob.id)).json();
    // Written behind the stream (call.created): the request itself writes no record.
    expect(
      await eventually(
        async () => (await app.callService.calls.findForParticipant(online.callId, alice.id))?.push,
      ),
    ).toBe('none');

    const dave = await signIn(app.redis, 'user', 'Dave');
    const erin = await signIn(app.redis, 'user', 'Erin');
    users.users.set(erin.id, { displayName: 'Erin' });
    const offline = (await call(dave, erin.id)).json();
    await app.callService.push.idle();
    // No devices registered: nothing to wake.
    // Written behind the stream (call.created): the request itself writes no record.
    expect(
      await eventually(
        async () => (await app.callService.calls.findForParticipant(offline.callId, dave.id))?.push,
      ),
    ).toBe('none');
  });

  it('records push "sent" when a callee with no connected device has a registered device (log provider)', async () => {
    const gina = await signIn(app.redis, 'user', 'Gina');
    const hank = await signIn(app.redis, 'user', 'Hank');
    users.users.set(hank.id, {
      displayName: 'Hank',
      devices: [{ deviceId: 'hank-phone', platform: 'android', pushToken: 'hank-push-token' }],
    });
    const res = await call(gina, hank.id);
    expect(res.statusCode).toBe(201);
    const { callId } = res.json();
    await app.callService.push.idle();
    expect(await app.callService.calls.findForParticipant(callId, hank.id)).toMatchObject({
      push: 'sent',
      pushReport: { devices: 1, sent: 1, failed: 0, invalidated: 0 },
    });
    expect(users.invalidated.flat()).not.toContain('hank-push-token');
  });

  it('answers 503 UPSTREAM_UNAVAILABLE, not a hang, when the user service does not answer', async () => {
    users.mode = 'hang';
    const res = await call(alice, bob.id);
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe('UPSTREAM_UNAVAILABLE');
    expect(await app.callService.store.activeCallOf(alice.id)).toBeNull();
  });

  it('rate-limits initiations per user with 429 and Retry-After', async () => {
    const frank = await signIn(app.redis, 'user', 'Frank');
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 8 && !limited; i++) {
      const res = await call(frank, 'NOBODY0000000000000000000');
      if (res.statusCode === 429) limited = res;
    }
    expect(limited?.json().error.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
  });
});
