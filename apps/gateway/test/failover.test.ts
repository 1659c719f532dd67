// Several instances per service: a dead one is routed around, all dead is a quick 503, a hanging
// one is a 504. (The gateways here wait 60 s for an upstream, longer than any test may run, so a
// hang instead of a quick answer fails the test.)
import type { App } from '@voip/kit/app';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGateway, openSession, type TestSession } from './support/gateway.js';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

describe('failover between instances', () => {
  let auth: UpstreamDouble;
  let calls: UpstreamDouble;
  let u1: UpstreamDouble;
  let u2: UpstreamDouble;
  let app: App;
  let session: TestSession;

  beforeAll(async () => {
    [auth, calls] = await Promise.all([startUpstreamDouble('auth'), startUpstreamDouble('calls')]);
  });
  afterAll(async () => {
    await Promise.all([auth, calls].map((u) => u?.stop()));
  });
  afterEach(async () => {
    await app?.close();
    await Promise.all([u1, u2].map((u) => u?.stop()));
  });

  const start = async (env: Record<string, string> = {}) => {
    [u1, u2] = await Promise.all([startUpstreamDouble('user-1'), startUpstreamDouble('user-2')]);
    app = await buildGateway(
      { auth: [auth.url], users: [u1.url, u2.url], calls: [calls.url] },
      { UPSTREAM_TIMEOUT_MS: '60000', ...env },
    );
    session = await openSession(app);
  };
  const get = (url = '/api/users/me') =>
    app.inject({ url, headers: { authorization: session.authorization } });
  const post = () =>
    app.inject({
      method: 'PUT',
      url: '/api/users/me/contacts/abc',
      headers: { authorization: session.authorization, 'content-type': 'application/json' },
      payload: '{}',
    });

  it('spreads requests over healthy instances', async () => {
    await start();
    const served = new Set<string>();
    for (let i = 0; i < 6; i++) served.add((await get()).json().upstream);
    expect(served).toEqual(new Set(['user-1', 'user-2']));
  });

  it('keeps answering when one instance dies, including requests with a body', async () => {
    await start();
    await get();
    await u1.stop();
    const results = [];
    for (let i = 0; i < 10; i++) {
      const res = i % 2 ? await post() : await get();
      results.push(`${res.statusCode} ${res.json().upstream}`);
    }
    expect(results).toEqual(Array(10).fill('200 user-2'));
  });

  it('routes to an instance again once its /health answers', async () => {
    await start();
    await u2.stop();
    await get();
    await vi.waitFor(async () => expect((await get()).json().upstream).toBe('user-1'));
    await u2.restart();
    await vi.waitFor(async () => {
      const served = new Set([(await get()).json().upstream, (await get()).json().upstream]);
      expect(served).toEqual(new Set(['user-1', 'user-2']));
    });
  });

  it('answers 503 UPSTREAM_UNAVAILABLE at once when every instance is down', async () => {
    await start();
    await Promise.all([u1.stop(), u2.stop()]);
    for (const res of [await get(), await get(), await post()]) {
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        error: { code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), details: { service: 'users' } },
      });
      expect(res.headers['x-request-id']).toBeTruthy();
    }
    // Other services are unaffected.
    const other = await app.inject({ url: '/api/calls', headers: { authorization: session.authorization } });
    expect(other.statusCode).toBe(200);
  });

  it('answers 504 UPSTREAM_TIMEOUT when an instance does not answer in time, and keeps it in rotation', async () => {
    await start({ UPSTREAM_TIMEOUT_MS: '300' });
    const res = await get('/api/users/hang');
    expect(res.statusCode).toBe(504);
    expect(res.json().error.code).toBe('UPSTREAM_TIMEOUT');
    const served = new Set<string>();
    for (let i = 0; i < 4; i++) served.add((await get()).json().upstream);
    expect(served).toEqual(new Set(['user-1', 'user-2']));
  });
});
