// The token check at the door: which routes need one, and which tokens are refused before anything
// reaches a service.
import { generateKeyPairSync } from 'node:crypto';
import { keys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { createTokenSigner } from '@voip/kit/jwt';
import { testKeys } from '@voip/testkit/env';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildGateway, openSession, uniqueClientIp } from './support/gateway.js';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

describe('edge authentication', () => {
  let up: UpstreamDouble;
  let app: App;
  let throttled: App;

  beforeAll(async () => {
    up = await startUpstreamDouble('svc');
    const all = { auth: [up.url], users: [up.url], calls: [up.url] };
    app = await buildGateway(all);
    throttled = await buildGateway(all, { RATE_LIMIT_AUTH_FAILURES_MAX: '3' });
  });
  afterAll(async () => {
    await app?.close();
    await throttled?.close();
    await up?.stop();
  });

  const forwarded = () => up.received.length;

  it('lets register, login, refresh and guest through without a token', async () => {
    for (const path of ['register', 'login', 'refresh', 'guest']) {
      const res = await app.inject({ method: 'POST', url: `/api/auth/${path}`, payload: {} });
      expect(res.statusCode, path).toBe(200);
      expect(res.json().url).toBe(`/api/auth/${path}`);
    }
  });

  it('serves the API docs without a token', async () => {
    expect((await app.inject('/api/docs')).statusCode).toBe(200);
    expect((await app.inject('/api/docs/openapi.json')).statusCode).toBe(200);
  });

  it('refuses every other route without a token, and forwards nothing', async () => {
    const before = forwarded();
    const routes = [
      ['GET', '/api/auth/me'],
      ['POST', '/api/auth/logout'],
      ['GET', '/api/auth/login'],
      ['DELETE', '/api/auth/guest/cleanup-all'],
      ['POST', '/api/auth/logout-all'],
      ['DELETE', '/api/auth/sessions/01J0000000000000000000SESS'],
      ['DELETE', '/api/auth/users/01J0000000000000000000USER/sessions'],
      ['GET', '/api/users/me'],
      ['PUT', '/api/users/me/contacts/abc'],
      ['GET', '/api/users/presence?ids=a'],
      ['POST', '/api/calls'],
      ['GET', '/api/calls/ice-servers'],
      ['POST', '/api/auth/login/'],
    ] as const;
    for (const [method, url] of routes) {
      const res = await app.inject({ method, url });
      expect(res.statusCode, `${method} ${url}`).toBe(401);
      expect(res.json().error.code).toBe('UNAUTHORIZED');
    }
    expect(forwarded()).toBe(before);
  });

  it('forwards a request with a valid token of a live session', async () => {
    const s = await openSession(app, 'guest');
    const res = await app.inject({
      url: '/api/calls/ice-servers',
      headers: { authorization: s.authorization },
    });
    expect(res.statusCode).toBe(200);
  });

  it('forwards logout-all and the session revocation routes unchanged with a token (auth decides who may)', async () => {
    const s = await openSession(app, 'admin');
    for (const [method, url] of [
      ['POST', '/api/auth/logout-all'],
      ['DELETE', '/api/auth/sessions/01J0000000000000000000SESS'],
      ['DELETE', '/api/auth/users/01J0000000000000000000USER/sessions'],
    ] as const) {
      const res = await app.inject({ method, url, headers: { authorization: s.authorization } });
      expect(res.statusCode, url).toBe(200);
      expect(res.json()).toMatchObject({ method, url, headers: { authorization: s.authorization } });
    }
  });

  it('refuses a token signed with another key', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = createTokenSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const s = await openSession(app);
    const token = forged.sign({ sub: s.userId, kind: 'admin', sid: s.sessionId }, 900);
    const before = forwarded();
    const res = await app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
    expect(forwarded()).toBe(before);
  });

  it('refuses a token whose payload was edited, and an unsigned one', async () => {
    const s = await openSession(app);
    const [h, p, sig] = s.token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const edited = Buffer.from(JSON.stringify({ ...claims, kind: 'admin' })).toString('base64url');
    const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    for (const token of [`${h}.${edited}.${sig}`, `${none}.${p}.`]) {
      const res = await app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(401);
    }
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const s = await openSession(app);
    const token = createTokenSigner(testKeys().privateKey).sign(
      { sub: s.userId, kind: 'user', sid: s.sessionId },
      -10,
    );
    const res = await app.inject({ url: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_EXPIRED');
  });

  it('refuses a well-signed token whose session was revoked', async () => {
    const s = await openSession(app);
    const ok = await app.inject({ url: '/api/users/me', headers: { authorization: s.authorization } });
    expect(ok.statusCode).toBe(200);
    // What auth does on logout: drop the session and tell everyone.
    await app.redis.del(keys.session(s.sessionId));
    await app.bus.publish('session.revoked', { sessionId: s.sessionId, userId: s.userId, reason: 'logout' });
    await vi.waitFor(async () => {
      const res = await app.inject({ url: '/api/users/me', headers: { authorization: s.authorization } });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('SESSION_REVOKED');
    });
  });

  it('refuses a revoked session at once although its token is in the verified-token cache', async () => {
    const s = await openSession(app);
    for (let i = 0; i < 3; i++) {
      const ok = await app.inject({ url: '/api/users/me', headers: { authorization: s.authorization } });
      expect(ok.statusCode).toBe(200);
    }
    // The session key stays in Redis: only the bus message can make the gateway refuse it now.
    await app.bus.publish('session.revoked', { sessionId: s.sessionId, userId: s.userId, reason: 'logout' });
    await vi.waitFor(async () => expect(await app.sessions.isActive(s.sessionId)).toBe(false));
    const before = forwarded();
    const res = await app.inject({ url: '/api/users/me', headers: { authorization: s.authorization } });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('SESSION_REVOKED');
    expect(forwarded()).toBe(before);
  });

  it('refuses a token that expired after it was accepted (and cached)', async () => {
    const s = await openSession(app);
    const token = createTokenSigner(testKeys().privateKey).sign(
      { sub: s.userId, kind: 'user', sid: s.sessionId },
      // exp is whole seconds from a floored iat: 3 s leaves at least 2 s for the first request, where 1 s
      // could leave almost nothing on a loaded machine.
      3,
    );
    const { exp } = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    const headers = { authorization: `Bearer ${token}` };
    expect((await app.inject({ url: '/api/users/me', headers })).statusCode).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    const res = await app.inject({ url: '/api/users/me', headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_EXPIRED');
  });

  it('answers 429 instead of 401 to a client that keeps sending bad tokens', async () => {
    const ip = uniqueClientIp();
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await throttled.inject({
        url: '/api/users/me',
        headers: { authorization: 'Bearer not.a.valid-token-at-all', 'x-forwarded-for': ip },
      });
      codes.push(res.statusCode);
      if (res.statusCode === 429) {
        expect(res.json().error.code).toBe('RATE_LIMITED');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
    }
    expect(codes).toEqual([401, 401, 401, 429, 429]);
    // Another client is not affected.
    const other = await throttled.inject({
      url: '/api/users/me',
      headers: { 'x-forwarded-for': uniqueClientIp() },
    });
    expect(other.statusCode).toBe(401);
  });
});
