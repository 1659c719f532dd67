import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type AccessTokenSource,
  createAccessTokenSource,
  FCM_SCOPE,
  readServiceAccount,
} from '../../src/push/google-oauth.js';
import { type FcmStandIn, startFcmStandIn } from '../support/fcm-standin.js';

describe('Google OAuth access tokens (against the local stand-in), on an injected clock', () => {
  let fcm: FcmStandIn;
  let clock: number;
  let tokens: AccessTokenSource;

  beforeAll(async () => {
    fcm = await startFcmStandIn();
  });
  afterAll(() => fcm?.close());
  beforeEach(() => {
    fcm.tokenExpiresIn = 3599;
    clock = Date.UTC(2030, 0, 1);
    tokens = createAccessTokenSource({
      account: readServiceAccount(fcm.serviceAccountJson, undefined),
      scope: FCM_SCOPE,
      timeoutMs: 2000,
      now: () => clock,
    });
  });

  it('keeps a token until a minute before it expires, then fetches a new one', async () => {
    const before = fcm.tokenRequests;
    const first = await tokens.getToken();
    expect(fcm.tokenRequests - before).toBe(1);

    // Issued for 3599 s: still used at 3539 s minus a millisecond…
    clock += 3_539_000 - 1;
    expect(await tokens.getToken()).toBe(first);
    expect(fcm.tokenRequests - before).toBe(1);

    // …and replaced from 3539 s on, a minute before it would expire.
    clock += 1;
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(fcm.tokenRequests - before).toBe(2);
    expect(await tokens.getToken()).toBe(second);
    expect(fcm.tokenRequests - before).toBe(2);
  });

  it('refreshes a short-lived token halfway through its life instead of a minute early', async () => {
    fcm.tokenExpiresIn = 60;
    const before = fcm.tokenRequests;
    const first = await tokens.getToken();
    clock += 30_000 - 1;
    expect(await tokens.getToken()).toBe(first);
    clock += 1;
    expect(await tokens.getToken()).not.toBe(first);
    expect(fcm.tokenRequests - before).toBe(2);
  });

  it('shares one token request between concurrent callers, at the start and at each refresh', async () => {
    const before = fcm.tokenRequests;
    const burst = await Promise.all(Array.from({ length: 5 }, () => tokens.getToken()));
    expect(new Set(burst).size).toBe(1);
    expect(fcm.tokenRequests - before).toBe(1);

    clock += 3_539_000;
    const refreshed = await Promise.all(Array.from({ length: 5 }, () => tokens.getToken()));
    expect(new Set(refreshed).size).toBe(1);
    expect(refreshed[0]).not.toBe(burst[0]);
    expect(fcm.tokenRequests - before).toBe(2);
  });
});
