// The dispatcher's retry rules, on an injected clock and jitter: the real FCM provider against the
// local stand-in for Google, the real user-service client against its stand-in, the real calls
// collection (via the service) for the outcome.
import type { App } from '@voip/kit/app';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createCircuitBreaker } from '../../src/push/circuit-breaker.js';
import { createFcmProvider } from '../../src/push/fcm-provider.js';
import { createAccessTokenSource, FCM_SCOPE, readServiceAccount } from '../../src/push/google-oauth.js';
import { createWakeUpDispatcher, type WakeUpDispatcher } from '../../src/push/wake-up-dispatcher.js';
import { type FcmStandIn, startFcmStandIn } from '../support/fcm-standin.js';
import { callEnv, newId, startCallService } from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 9;
// Captured before any test fakes the timers: waiting for the stand-in must not depend on them.
const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms: number) => new Promise((r) => realSetTimeout(r, ms));

async function untilReal(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await realSleep(25);
  }
  throw new Error(`never happened: ${what}`);
}

describe('wake-up dispatcher: retries, Retry-After and the ring deadline', () => {
  let users: UserServiceStandIn;
  let fcm: FcmStandIn;
  let app: App;
  let clock: number;
  let sends: string[];
  const dispatchers: WakeUpDispatcher[] = [];

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    fcm = await startFcmStandIn();
    // The service only lends its calls collection and user-service client: its own dispatcher has no
    // provider and is never started here.
    app = await startCallService(
      callEnv(DB, { USER_SERVICE_URL: users.url, PUSH_PROVIDER: 'none', HISTORY_CONSUMER_ENABLED: 'false' }),
    );
  });
  afterAll(async () => {
    await Promise.all(dispatchers.map((d) => d.close()));
    await app?.close();
    await fcm?.close();
    await users?.close();
  });
  beforeEach(() => {
    fcm.mode = 'up';
    fcm.unavailableStatus = 503;
    fcm.retryAfter = '0';
    sends = [];
    // Far from the host's clock, so anything that reads Date.now() instead of now() shows.
    clock = Date.UTC(2031, 5, 1);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function dispatcher(maxAttempts: number): WakeUpDispatcher {
    const now = () => clock;
    const d = createWakeUpDispatcher({
      provider: createFcmProvider({
        projectId: fcm.projectId,
        baseUrl: fcm.url,
        timeoutMs: 2000,
        now,
        tokens: createAccessTokenSource({
          account: readServiceAccount(fcm.serviceAccountJson, undefined),
          scope: FCM_SCOPE,
          timeoutMs: 2000,
          now,
        }),
      }),
      breaker: createCircuitBreaker({ threshold: 100, cooldownMs: 60_000, now }),
      directory: app.callService.directory,
      calls: app.callService.calls,
      redis: app.redis,
      callState: (callId) => app.callService.store.get(callId),
      log: app.log,
      maxAttempts,
      // With no jitter the back-off itself is 0 ms: every wait below is Retry-After's.
      retryBaseMs: 1,
      retryMaxMs: 1,
      random: () => 0,
      now,
      onSend: (result) => sends.push(result),
    });
    dispatchers.push(d);
    return d;
  }

  /** A ringing call to a callee with one phone, whose ring deadline is `ringsForMs` from the clock. */
  async function ringingCall(ringsForMs: number) {
    const callId = newId();
    const callerId = newId();
    const calleeId = newId();
    users.users.set(calleeId, {
      displayName: 'Callee',
      devices: [{ deviceId: 'phone', platform: 'android', pushToken: `tok-${newId()}` }],
    });
    const expiresAt = new Date(clock + ringsForMs);
    await app.callService.calls.recordCreated({
      callId,
      callerId,
      calleeId,
      media: 'audio',
      createdAt: new Date(clock),
      expiresAt,
      push: 'pending',
    });
    const request = {
      callId,
      calleeId,
      callerId,
      callerName: 'Caller',
      media: 'audio' as const,
      expiresAt: expiresAt.toISOString(),
    };
    return { request, record: () => app.callService.calls.findForParticipant(callId, callerId) };
  }

  it('sends nothing for a call whose ring deadline has passed on its clock (expired)', async () => {
    const call = await ringingCall(0);
    const attempts = fcm.sendAttempts;
    const d = dispatcher(3);
    d.wake(call.request);
    await d.idle();
    expect(fcm.sendAttempts).toBe(attempts);
    expect(sends).toEqual([]);
    expect(await call.record()).toMatchObject({
      push: 'failed',
      pushReport: { devices: 1, sent: 0, failed: 1, detail: 'expired: call stopped ringing' },
    });
  });

  it.each([
    { status: 429 as const, retryAfter: '10', attempts: 1 },
    { status: 503 as const, retryAfter: '10', attempts: 1 },
    { status: 503 as const, retryAfter: '0', attempts: 3 },
  ])(
    'with $status and Retry-After: $retryAfter s and 5 s of ringing left, makes $attempts attempt(s) of 3',
    async ({ status, retryAfter, attempts }) => {
      fcm.mode = 'unavailable';
      fcm.unavailableStatus = status;
      fcm.retryAfter = retryAfter;
      const call = await ringingCall(5000);
      const before = fcm.sendAttempts;
      const d = dispatcher(3);
      d.wake(call.request);
      await d.idle();
      // A retry Retry-After puts past the ring deadline is never made: the phone would ring for nothing.
      expect(fcm.sendAttempts - before).toBe(attempts);
      expect(sends).toEqual(Array(attempts).fill('unavailable'));
      const record = await call.record();
      expect(record?.push).toBe('failed');
      expect(record?.pushReport?.detail).toContain(`unavailable: ${status}`);
    },
  );

  it('waits for Retry-After (429) before the retry, then delivers', async () => {
    fcm.mode = 'unavailable';
    fcm.unavailableStatus = 429;
    fcm.retryAfter = '2';
    const call = await ringingCall(30_000);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = fcm.sendAttempts;
    const d = dispatcher(3);
    d.wake(call.request);
    await untilReal(() => sends.length === 1, 'the first send');
    fcm.mode = 'up';

    // The back-off alone is 0 ms: only Retry-After holds the retry back.
    await vi.advanceTimersByTimeAsync(1999);
    await realSleep(200);
    expect(fcm.sendAttempts - before).toBe(1);

    await vi.advanceTimersByTimeAsync(1);
    await untilReal(() => sends.length === 2, 'the retry');
    vi.useRealTimers();
    await d.idle();
    expect(sends).toEqual(['unavailable', 'sent']);
    expect(fcm.sendAttempts - before).toBe(2);
    expect(await call.record()).toMatchObject({
      push: 'sent',
      pushReport: { devices: 1, sent: 1, failed: 0 },
    });
  });

  it('does not retry once the call has stopped ringing during the wait (expired)', async () => {
    fcm.mode = 'unavailable';
    fcm.retryAfter = '1';
    const call = await ringingCall(5000);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const before = fcm.sendAttempts;
    const d = dispatcher(3);
    d.wake(call.request);
    await untilReal(() => sends.length === 1, 'the first send');
    fcm.mode = 'up';

    // The retry was due 1 s later, inside the deadline; by the time it wakes, the call rang out
    // (the host was suspended, the event loop stalled).
    clock += 5000;
    await vi.advanceTimersByTimeAsync(1000);
    vi.useRealTimers();
    await d.idle();
    expect(fcm.sendAttempts - before).toBe(1);
    expect(sends).toEqual(['unavailable']);
    expect(await call.record()).toMatchObject({
      push: 'failed',
      pushReport: { devices: 1, sent: 0, failed: 1, detail: 'expired: call stopped ringing' },
    });
  });
});
