import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FcmStandIn, startFcmStandIn } from '../support/fcm-standin.js';
import {
  type Account,
  callEnv,
  connectDevice,
  eventually,
  newId,
  signIn,
  startCallService,
} from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 6;

describe('wake-up push for a callee with no connected device (FCM stand-in)', () => {
  let users: UserServiceStandIn;
  let fcm: FcmStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    fcm = await startFcmStandIn();
    app = await startCallService(
      callEnv(DB, {
        USER_SERVICE_URL: users.url,
        PUSH_PROVIDER: 'fcm',
        FCM_PROJECT_ID: fcm.projectId,
        FCM_SERVICE_ACCOUNT_JSON: fcm.serviceAccountJson,
        FCM_BASE_URL: fcm.url,
        FCM_TOKEN_URL: fcm.tokenUrl,
        PUSH_TIMEOUT_MS: '10000',
        PUSH_MAX_ATTEMPTS: '2',
        PUSH_RETRY_BASE_MS: '5',
        PUSH_RETRY_MAX_MS: '20',
        PUSH_BREAKER_THRESHOLD: '3',
        PUSH_BREAKER_COOLDOWN_MS: '600000',
        HISTORY_CONSUMER_ENABLED: 'false',
      }),
    );
    await app.redis.flushdb();
  });
  afterAll(async () => {
    await app?.close();
    await fcm?.close();
    await users?.close();
  });
  beforeEach(async () => {
    alice = await signIn(app.redis, 'user', 'Alice');
    bob = await signIn(app.redis, 'user', 'Bob');
    users.users.set(alice.id, { displayName: 'Alice' });
    users.users.set(bob.id, {
      displayName: 'Bob',
      devices: [
        { deviceId: 'bob-phone', platform: 'android', pushToken: `live-${newId()}` },
        { deviceId: 'bob-old-phone', platform: 'android', pushToken: `gone-${newId()}` },
      ],
    });
    fcm.unregistered.add(users.users.get(bob.id)!.devices![1]!.pushToken);
    fcm.sent.length = 0;
  });

  const initiate = async (from: Account, to: Account, media = 'audio') => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: from.headers,
      payload: { calleeId: to.id, media },
    });
    expect(res.statusCode).toBe(201);
    return res.json() as { callId: string; expiresAt: string };
  };

  it('wakes every registered device with the call, drops the dead token, and records push: sent', async () => {
    const { callId, expiresAt } = await initiate(alice, bob, 'video');
    await app.callService.push.idle();

    const [live, gone] = users.users.get(bob.id)!.devices ?? [];
    expect(gone).toBeUndefined();
    expect(fcm.sent.map((s) => s.message.token)).toEqual([live!.pushToken]);
    expect(fcm.sent[0]!.message.data).toEqual({
      type: 'incoming-call',
      callId,
      callerId: alice.id,
      callerName: 'Alice',
      media: 'video',
      expiresAt,
    });
    expect(fcm.sent[0]!.message.android?.priority).toBe('HIGH');
    expect(users.invalidated.at(-1)).toEqual([expect.stringMatching(/^gone-/)]);
    const record = await app.callService.calls.findForParticipant(callId, alice.id);
    expect(record).toMatchObject({
      push: 'sent',
      pushReport: { devices: 2, sent: 1, failed: 1, invalidated: 1 },
    });
  });

  it('does not push a callee who has a connected device', async () => {
    await connectDevice(app.redis, bob.id);
    const { callId } = await initiate(alice, bob);
    await app.callService.push.idle();
    expect(fcm.sent).toHaveLength(0);
    // No push started: the request writes no record (the history consumer writes it from call.created,
    // push "none"; it is off in this file), so nothing says "pending".
    expect(await app.callService.calls.findForParticipant(callId, bob.id)).toBeNull();
  });

  it('wakes a callee whose every device is only reconnecting (a dropped phone inside its resume window)', async () => {
    await connectDevice(app.redis, bob.id, 'bob-phone', 'reconnecting');
    await connectDevice(app.redis, bob.id, 'bob-tablet', 'reconnecting');
    const { callId } = await initiate(alice, bob);
    await app.callService.push.idle();
    expect(fcm.sent.map((s) => s.message.token)).toEqual([users.users.get(bob.id)!.devices![0]!.pushToken]);
    expect((await app.callService.calls.findForParticipant(callId, bob.id))?.push).toBe('sent');
  });

  it('does not push while one device is connected, however many others are reconnecting', async () => {
    await connectDevice(app.redis, bob.id, 'bob-phone', 'reconnecting');
    await connectDevice(app.redis, bob.id, 'bob-tablet', 'connected');
    const { callId } = await initiate(alice, bob);
    await app.callService.push.idle();
    expect(fcm.sent).toHaveLength(0);
    // No push started: the request writes no record (the history consumer writes it from call.created,
    // push "none"; it is off in this file), so nothing says "pending".
    expect(await app.callService.calls.findForParticipant(callId, bob.id)).toBeNull();
  });

  it('answers 201 while the push endpoint hangs: the push is still pending after the response', async () => {
    fcm.mode = 'hang';
    const attempts = fcm.sendAttempts;
    const { callId } = await initiate(alice, bob);
    // The push reached the endpoint, which holds it: the response above did not wait for it.
    await eventually(() => fcm.sendAttempts > attempts);
    expect((await app.callService.calls.findForParticipant(callId, alice.id))?.push).toBe('pending');
    fcm.release();
    fcm.mode = 'up';
    await app.callService.push.idle();
    expect((await app.callService.calls.findForParticipant(callId, alice.id))?.push).toBe('sent');
  });

  it('opens the breaker when the endpoint keeps failing; then calls still get 201 and the endpoint is left alone', async () => {
    fcm.mode = 'unavailable';
    const results: Array<{ callId: string; caller: Account }> = [];
    for (let i = 0; i < 2; i++) {
      const caller = await signIn(app.redis, 'user', `Caller ${i}`);
      const callee = await signIn(app.redis, 'user', `Callee ${i}`);
      users.users.set(callee.id, {
        displayName: `Callee ${i}`,
        devices: [{ deviceId: 'p', platform: 'android', pushToken: `t-${newId()}` }],
      });
      results.push({ callId: (await initiate(caller, callee)).callId, caller });
      await app.callService.push.idle();
    }
    expect(app.callService.push.breaker.state).toBe('open');
    for (const r of results)
      expect((await app.callService.calls.findForParticipant(r.callId, r.caller.id))?.push).toBe('failed');

    // Open: a new call's push fails at once without touching the endpoint.
    const attempts = fcm.sendAttempts;
    const { callId } = await initiate(alice, bob);
    await app.callService.push.idle();
    expect(fcm.sendAttempts).toBe(attempts);
    const record = await app.callService.calls.findForParticipant(callId, alice.id);
    expect(record?.push).toBe('failed');
    expect(record?.pushReport?.detail).toContain('circuit-open');
  });
});
