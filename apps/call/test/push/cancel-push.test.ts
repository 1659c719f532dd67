// The cancel push: a phone a wake-up reached stops ringing when the call is answered on another device,
// cancelled, rejected or rings out before it connects. The whole service (history consumer on), the
// real FCM provider against the local stand-in for Google, the user service's stand-in for devices.

import { Value } from '@sinclair/typebox/value';
import { CancelPush, WakeUpPush } from '@voip/contracts/push';
import { keys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FcmStandIn, type SentMessage, startFcmStandIn } from '../support/fcm-standin.js';
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

const DB = 12;

describe('cancel push to phones a wake-up reached (FCM stand-in)', () => {
  let users: UserServiceStandIn;
  let fcm: FcmStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;
  const phone = () => `phone-${newId().slice(-8)}`;
  let phones: { deviceId: string; pushToken: string }[];

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
    fcm.mode = 'up';
    alice = await signIn(app.redis, 'user', 'Alice');
    bob = await signIn(app.redis, 'user', 'Bob');
    phones = [
      { deviceId: phone(), pushToken: `tok-${newId()}` },
      { deviceId: phone(), pushToken: `tok-${newId()}` },
    ];
    users.users.set(alice.id, { displayName: 'Alice' });
    users.users.set(bob.id, {
      displayName: 'Bob',
      devices: phones.map((p) => ({ ...p, platform: 'android' as const })),
    });
  });

  const initiate = async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: alice.headers,
      payload: { calleeId: bob.id, media: 'audio' },
    });
    expect(res.statusCode).toBe(201);
    return (res.json() as { callId: string }).callId;
  };
  const pushesFor = (callId: string, type: string): SentMessage[] =>
    fcm.sent.filter((m) => m.message.data.callId === callId && m.message.data.type === type);
  const store = () => app.callService.store;

  it.each([
    ['cancelled by the caller', { type: 'cancel' } as const, 'alice', 'cancelled'],
    ['rejected from another device', { type: 'reject', reason: 'rejected' } as const, 'bob', 'rejected'],
    ['rung out', { type: 'timeout' } as const, null, 'no-answer'],
  ])('%s: every woken phone gets one cancel push with the reason', async (_, event, by, reason) => {
    const callId = await initiate();
    await app.callService.push.idle();
    const wakeUps = pushesFor(callId, 'incoming-call');
    expect(wakeUps.map((m) => m.message.token).sort()).toEqual(phones.map((p) => p.pushToken).sort());
    for (const m of wakeUps) expect(Value.Check(WakeUpPush, m.message.data)).toBe(true);

    const byUserId = by === 'alice' ? alice.id : by === 'bob' ? bob.id : null;
    expect((await store().transition(callId, event, { byUserId })).ok).toBe(true);
    const cancels = await eventually(async () => {
      await app.callService.push.idle();
      const c = pushesFor(callId, 'call-cancelled');
      return c.length === phones.length ? c : undefined;
    });
    expect(cancels.map((m) => m.message.token).sort()).toEqual(phones.map((p) => p.pushToken).sort());
    for (const m of cancels) {
      expect(Value.Check(CancelPush, m.message.data), JSON.stringify(m.message.data)).toBe(true);
      expect(m.message.data).toMatchObject({ callId, reason });
      expect(m.message.android?.priority).toBe('HIGH');
      expect(Number.parseInt(m.message.android?.ttl ?? '', 10)).toBeGreaterThan(0);
      expect(Object.keys(m.message)).not.toContain('notification');
    }
    // The woken set was taken: nothing is left to cancel twice.
    expect(await app.redis.exists(keys.pushWokenDevices(callId))).toBe(0);
  });

  it('answered on a device that connected: the other phone gets answered-elsewhere, the answering one nothing', async () => {
    const callId = await initiate();
    await app.callService.push.idle();
    expect(pushesFor(callId, 'incoming-call')).toHaveLength(2);
    // The first phone woke up and connected under its deviceId (the Android library's clientId), then answered.
    await connectDevice(app.redis, bob.id, phones[0]!.deviceId);
    expect(
      (
        await store().transition(
          callId,
          { type: 'accept' },
          { byUserId: bob.id, clientId: phones[0]!.deviceId },
        )
      ).ok,
    ).toBe(true);
    const cancels = await eventually(async () => {
      await app.callService.push.idle();
      const c = pushesFor(callId, 'call-cancelled');
      return c.length > 0 ? c : undefined;
    });
    expect(cancels.map((m) => [m.message.token, m.message.data.reason])).toEqual([
      [phones[1]!.pushToken, 'answered-elsewhere'],
    ]);
    // Hanging up the answered call later sends no further cancel.
    expect((await store().transition(callId, { type: 'hangup' }, { byUserId: alice.id })).ok).toBe(true);
    await eventually(
      async () => (await app.callService.calls.findForParticipant(callId, alice.id))?.state === 'ended',
    );
    await app.callService.push.idle();
    expect(pushesFor(callId, 'call-cancelled')).toHaveLength(1);
  });

  it('a call cancelled while its wake-up was still on the way still gets its cancel, once per phone', async () => {
    fcm.mode = 'hang';
    const callId = await initiate();
    await eventually(() => fcm.sendAttempts >= 2);
    expect((await store().transition(callId, { type: 'cancel' }, { byUserId: alice.id })).ok).toBe(true);
    // The history consumer saw the end before any phone was known to be woken.
    await eventually(
      async () => (await app.callService.calls.findForParticipant(callId, alice.id))?.state === 'ended',
    );
    fcm.mode = 'up';
    fcm.release();
    const cancels = await eventually(async () => {
      await app.callService.push.idle();
      const c = pushesFor(callId, 'call-cancelled');
      return c.length === phones.length ? c : undefined;
    });
    expect(new Set(cancels.map((m) => m.message.token)).size).toBe(phones.length);
    expect(cancels.every((m) => m.message.data.reason === 'cancelled')).toBe(true);
  });

  it('keeps the woken call for signaling, so a late fresh device hears call-ended', async () => {
    const callId = await initiate();
    await app.callService.push.idle();
    expect(await app.redis.get(keys.pushWokenCall(bob.id))).toBe(callId);
    const ttl = await app.redis.pttl(keys.pushWokenCall(bob.id));
    expect(ttl).toBeGreaterThan(30_000);
  });
});
