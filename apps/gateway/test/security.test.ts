// CORS for configured origins only, and security headers on every answer.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '@voip/kit/app';
import helmet from 'helmet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGateway, openSession } from './support/gateway.js';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

describe('CORS and security headers', () => {
  let up: UpstreamDouble;
  let app: App;
  let sameOrigin: App;

  beforeAll(async () => {
    up = await startUpstreamDouble('svc');
    const all = { auth: [up.url], users: [up.url], calls: [up.url] };
    app = await buildGateway(all, { CORS_ORIGINS: 'https://app.example.com,https://admin.example.com' });
    sameOrigin = await buildGateway(all);
  });
  afterAll(async () => {
    await app?.close();
    await sameOrigin?.close();
    await up?.stop();
  });

  const preflight = (gw: App, origin: string) =>
    gw.inject({
      method: 'OPTIONS',
      url: '/api/users/me',
      headers: {
        origin,
        'access-control-request-method': 'PATCH',
        'access-control-request-headers': 'authorization,content-type',
      },
    });

  it('answers a preflight from an allowed origin without a token and without reaching a service', async () => {
    const before = up.received.length;
    const res = await preflight(app, 'https://app.example.com');
    expect(res.statusCode).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(String(res.headers['access-control-allow-methods'])).toContain('PATCH');
    expect(String(res.headers['access-control-allow-headers']).toLowerCase()).toContain('authorization');
    expect(up.received.length).toBe(before);
  });

  it('gives no CORS grant to other origins', async () => {
    const res = await preflight(app, 'https://evil.example.net');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const none = await preflight(sameOrigin, 'https://app.example.com');
    expect(none.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('exposes the request id and rate-limit headers to allowed browsers on real requests', async () => {
    const s = await openSession(app);
    const res = await app.inject({
      url: '/api/users/me',
      headers: { origin: 'https://admin.example.com', authorization: s.authorization },
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(String(res.headers['access-control-expose-headers'])).toContain('x-request-id');
    expect(String(res.headers['access-control-expose-headers'])).toContain('retry-after');
  });

  it('sets security headers on proxied answers, errors and docs alike', async () => {
    const s = await openSession(app);
    for (const res of [
      await app.inject({ url: '/api/users/me', headers: { authorization: s.authorization } }),
      await app.inject('/api/users/me'),
      await app.inject('/api/docs'),
    ]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['x-powered-by']).toBeUndefined();
    }
  });

  it('sets exactly the headers helmet sets when run on each request', async () => {
    // The reference: helmet's own middleware on a real Node response, per request.
    const reference = createServer((req, res) => helmet()(req, res, () => res.end()));
    await new Promise<void>((r) => reference.listen(0, '127.0.0.1', r));
    try {
      const { port } = reference.address() as AddressInfo;
      const expected = Object.fromEntries(
        [...(await fetch(`http://127.0.0.1:${port}/`)).headers].filter(
          ([name]) => !['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding'].includes(name),
        ),
      );
      expect(Object.keys(expected).length).toBeGreaterThan(5);
      const s = await openSession(app);
      const res = await app.inject({ url: '/api/users/me', headers: { authorization: s.authorization } });
      expect(res.statusCode).toBe(200);
      for (const [name, value] of Object.entries(expected)) expect(res.headers[name], name).toBe(value);
    } finally {
      await new Promise((r) => reference.close(r));
    }
  });
});
