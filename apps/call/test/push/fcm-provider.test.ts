import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createFcmProvider } from '../../src/push/fcm-provider.js';
import { createAccessTokenSource, FCM_SCOPE, readServiceAccount } from '../../src/push/google-oauth.js';
import type { PushProvider, PushTarget, WakeUpMessage } from '../../src/push/provider.js';
import { type FcmStandIn, startFcmStandIn } from '../support/fcm-standin.js';

describe('FCM HTTP v1 provider against a local stand-in for Google', () => {
  let fcm: FcmStandIn;
  let provider: PushProvider;
  const signal = new AbortController().signal;
  const target = (pushToken: string): PushTarget => ({ deviceId: 'd1', platform: 'android', pushToken });
  const message = (): WakeUpMessage => ({
    callId: '01JCALL0000000000000000000',
    callerId: 'ALICE',
    callerName: 'Alice',
    media: 'video',
    expiresAt: new Date(Date.now() + 30_000).toISOString(),
  });

  beforeAll(async () => {
    fcm = await startFcmStandIn();
  });
  afterAll(() => fcm?.close());
  beforeEach(() => {
    fcm.mode = 'up';
    fcm.unavailableStatus = 503;
    fcm.retryAfter = '0';
    fcm.sent.length = 0;
    provider = createFcmProvider({
      projectId: fcm.projectId,
      baseUrl: fcm.url,
      timeoutMs: 300,
      tokens: createAccessTokenSource({
        account: readServiceAccount(fcm.serviceAccountJson, undefined),
        scope: FCM_SCOPE,
        timeoutMs: 300,
      }),
    });
  });

  it('sends a high-priority data message with the call, authorised by a token from a signed assertion', async () => {
    const m = message();
    const result = await provider.send(target('tok-live'), m, signal);
    expect(result).toMatchObject({
      ok: true,
      messageId: expect.stringContaining('projects/voip-test/messages/'),
    });
    expect(fcm.sent).toHaveLength(1);
    const sent = fcm.sent[0]!;
    expect(sent.project).toBe('voip-test');
    expect(sent.message.token).toBe('tok-live');
    expect(sent.message.data).toEqual({
      type: 'incoming-call',
      callId: m.callId,
      callerId: 'ALICE',
      callerName: 'Alice',
      media: 'video',
      expiresAt: m.expiresAt,
    });
    expect(sent.message.android?.priority).toBe('HIGH');
    expect(sent.message.android?.ttl).toMatch(/^(29|30)s$/);
    expect(sent.message.apns?.headers?.['apns-priority']).toBe('10');
  });

  it('caches the access token across sends', async () => {
    const before = fcm.tokenRequests;
    for (let i = 0; i < 3; i++)
      expect((await provider.send(target(`tok-${i}`), message(), signal)).ok).toBe(true);
    expect(fcm.tokenRequests - before).toBe(1);
  });

  it('fetches a fresh token and retries once when FCM answers 401', async () => {
    expect((await provider.send(target('tok-a'), message(), signal)).ok).toBe(true);
    fcm.revokeAccessTokens();
    const before = fcm.tokenRequests;
    expect((await provider.send(target('tok-b'), message(), signal)).ok).toBe(true);
    expect(fcm.tokenRequests - before).toBe(1);
  });

  it('reports UNREGISTERED and invalid-token INVALID_ARGUMENT answers as dead tokens', async () => {
    fcm.unregistered.add('tok-gone');
    fcm.malformed.add('tok-garbage');
    expect(await provider.send(target('tok-gone'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'invalid-token',
    });
    expect(await provider.send(target('tok-garbage'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'invalid-token',
    });
  });

  it('reports 503, a hanging endpoint and a refused connection as unavailable', async () => {
    fcm.mode = 'unavailable';
    expect(await provider.send(target('tok-x'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'unavailable',
      retryAfterMs: 0,
    });
    fcm.mode = 'hang';
    expect(await provider.send(target('tok-x'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'unavailable',
    });
    const dead = createFcmProvider({
      projectId: 'p',
      baseUrl: 'http://127.0.0.1:9',
      timeoutMs: 300,
      tokens: createAccessTokenSource({
        account: readServiceAccount(fcm.serviceAccountJson, undefined),
        scope: FCM_SCOPE,
        tokenUrl: 'http://127.0.0.1:9/token',
        timeoutMs: 300,
      }),
    });
    expect(await dead.send(target('tok-x'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'unavailable',
    });
  });

  it('passes on Retry-After from a 429 and a 503, in seconds or as an HTTP date read on the injected clock', async () => {
    fcm.mode = 'unavailable';
    fcm.unavailableStatus = 429;
    fcm.retryAfter = '7';
    expect(await provider.send(target('tok-x'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'unavailable',
      detail: expect.stringContaining('429'),
      retryAfterMs: 7000,
    });

    // An HTTP date means "not before then", measured against the provider's clock, not the host's: here
    // the clock is an hour ahead of the host, so the host's clock would read 3,612 s.
    const clock = Math.floor(Date.now() / 1000) * 1000 + 3_600_000;
    const clocked = createFcmProvider({
      projectId: fcm.projectId,
      baseUrl: fcm.url,
      timeoutMs: 300,
      now: () => clock,
      tokens: createAccessTokenSource({
        account: readServiceAccount(fcm.serviceAccountJson, undefined),
        scope: FCM_SCOPE,
        timeoutMs: 300,
        now: () => clock,
      }),
    });
    fcm.unavailableStatus = 503;
    fcm.retryAfter = new Date(clock + 12_000).toUTCString();
    expect(await clocked.send(target('tok-x'), message(), signal)).toMatchObject({
      ok: false,
      kind: 'unavailable',
      detail: expect.stringContaining('503'),
      retryAfterMs: 12_000,
    });

    fcm.retryAfter = '';
    const without = await provider.send(target('tok-x'), message(), signal);
    expect(without).toMatchObject({ ok: false, kind: 'unavailable' });
    expect(without).not.toHaveProperty('retryAfterMs');
  });

  it('gets one access token for a burst of concurrent sends', async () => {
    const before = fcm.tokenRequests;
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) => provider.send(target(`tok-burst-${i}`), message(), signal)),
    );
    expect(results.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    expect(fcm.tokenRequests - before).toBe(1);
    expect(fcm.sent.map((s) => s.message.token).sort()).toEqual([0, 1, 2, 3, 4].map((i) => `tok-burst-${i}`));
  });
});
