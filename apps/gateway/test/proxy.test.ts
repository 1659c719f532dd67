// Routing through the gateway to upstream instances: what is forwarded, what is added and stripped,
// and what is never reachable.
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, openSession, type TestSession } from './support/gateway.js';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

describe('gateway routing', () => {
  let auth: UpstreamDouble;
  let users: UpstreamDouble;
  let calls: UpstreamDouble;
  let app: App;
  let session: TestSession;

  beforeAll(async () => {
    [auth, users, calls] = await Promise.all([
      startUpstreamDouble('auth-1'),
      startUpstreamDouble('user-1'),
      startUpstreamDouble('call-1'),
    ]);
    app = await buildGateway(
      { auth: [auth.url], users: [users.url], calls: [calls.url] },
      { BODY_LIMIT_BYTES: '2048' },
    );
    session = await openSession(app);
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([auth, users, calls].map((u) => u?.stop()));
  });

  it('sends each prefix to its own service with the path unchanged', async () => {
    const cases = [
      ['/api/auth/me', 'auth-1'],
      ['/api/users/me/contacts', 'user-1'],
      ['/api/calls/ice-servers', 'call-1'],
      ['/api/calls', 'call-1'],
    ] as const;
    for (const [url, upstream] of cases) {
      const res = await app.inject({ url, headers: { authorization: session.authorization } });
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toMatchObject({ upstream, method: 'GET', url });
    }
  });

  it('forwards the query string and the body bytes as they came', async () => {
    const body = '{"displayName":"Zoë","doNotDisturb":true}';
    const res = await app.inject({
      method: 'PATCH',
      url: '/api/users/me?x=1&y=a%20b&x=2',
      headers: { authorization: session.authorization, 'content-type': 'application/json' },
      payload: body,
    });
    expect(res.statusCode).toBe(200);
    const echoed = res.json();
    expect(echoed.url).toBe('/api/users/me?x=1&y=a%20b&x=2');
    expect(echoed.method).toBe('PATCH');
    expect(echoed.body).toBe(body);
    expect(echoed.headers['content-type']).toBe('application/json');
  });

  it('forwards bodies the gateway cannot parse untouched (the service validates them)', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/login',
      headers: { 'content-type': 'application/json' },
      payload: '{"username": broken',
    });
    expect(res.statusCode).toBe(200);
    expect(res.json().body).toBe('{"username": broken');
  });

  it('passes the upstream status and error body through', async () => {
    const res = await app.inject({
      url: '/api/users/teapot',
      headers: { authorization: session.authorization },
    });
    expect(res.statusCode).toBe(418);
    expect(res.json()).toEqual({ error: { code: 'TEAPOT', message: 'short and stout' } });
  });

  it('propagates the client request id to the upstream and echoes it', async () => {
    const res = await app.inject({
      url: '/api/users/me',
      headers: { authorization: session.authorization, 'x-request-id': 'req-abc-123' },
    });
    expect(res.headers['x-request-id']).toBe('req-abc-123');
    expect(res.json().headers['x-request-id']).toBe('req-abc-123');
  });

  it('makes up a request id when the client sent none and gives the same one to the upstream', async () => {
    const res = await app.inject({ url: '/api/users/me', headers: { authorization: session.authorization } });
    const id = res.headers['x-request-id'];
    expect(typeof id).toBe('string');
    expect(res.json().headers['x-request-id']).toBe(id);
  });

  it('strips a client-sent internal credential and passes the bearer token on', async () => {
    const res = await app.inject({
      url: '/api/users/me',
      headers: {
        authorization: session.authorization,
        'x-internal-token': 'forged-internal-credential-0123456789',
      },
    });
    const seen = res.json().headers;
    expect(seen['x-internal-token']).toBeUndefined();
    expect(seen.authorization).toBe(session.authorization);
  });

  it('tells the upstream who the client is (X-Forwarded-For chain)', async () => {
    const res = await app.inject({
      url: '/api/users/me',
      headers: { authorization: session.authorization, 'x-forwarded-for': '192.0.2.7' },
      remoteAddress: '127.0.0.1',
    });
    expect(res.json().headers['x-forwarded-for']).toBe('192.0.2.7, 127.0.0.1');
  });

  it('never forwards internal or operational paths of the services', async () => {
    const before = users.received.length;
    for (const url of ['/internal/users/x/devices', '/api/internal/users/x', '/metrics/../internal/x']) {
      const res = await app.inject({ url, headers: { authorization: session.authorization } });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().error.code).toBe('NOT_FOUND');
    }
    // Dot segments that would climb out of the service prefix are refused before any forwarding.
    for (const url of [
      '/api/users/../../internal/users/x/devices',
      '/api/users/%2e%2e/%2e%2e/internal/x',
      '/api/users/..%2f..%2finternal',
    ]) {
      const res = await app.inject({ url, headers: { authorization: session.authorization } });
      expect(res.statusCode, url).toBeGreaterThanOrEqual(400);
      expect(res.statusCode, url).toBeLessThan(500);
      expect(res.body).not.toContain('internal route reached');
    }
    expect(users.received.slice(before).filter((r) => !r.url.startsWith('/api/'))).toEqual([]);
  });

  it('answers /health of the gateway itself, not of a service', async () => {
    const res = await app.inject('/health');
    expect(res.json()).toMatchObject({ service: 'gateway' });
  });

  it('refuses bodies over the limit with 413 PAYLOAD_TOO_LARGE before forwarding', async () => {
    const before = auth.received.length;
    const res = await app.inject({
      method: 'POST',
      url: '/api/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username: 'x', password: 'y'.repeat(4096), displayName: 'z' }),
    });
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(auth.received.length).toBe(before);
  });

  it('answers unknown /api prefixes with 404 in the API shape', async () => {
    const res = await app.inject({ url: '/api/nope/x', headers: { authorization: session.authorization } });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('NOT_FOUND');
  });
});
