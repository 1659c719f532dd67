import { randomUUID } from 'node:crypto';
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import { INTERNAL_TOKEN_HEADER } from '@voip/contracts/tokens';
import { redisUrl, TEST_INTERNAL_TOKEN } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';
import { authPlugin, internalTokenMatches } from '../src/authenticate.js';
import { createTokenSigner, createTokenVerifier, generateKeyPairPem, parsePublicKeys } from '../src/jwt.js';
import { createSessionChecker } from '../src/sessions.js';

const pair = generateKeyPairPem();
const signer = createTokenSigner(pair.privateKey);
let redis: Redis;
const app = createApp({ service: 'auth-test', logLevel: 'silent' });
const checker = { current: undefined as ReturnType<typeof createSessionChecker> | undefined };

/** A live session in Redis and an access token for it, as auth would issue them. */
async function login(kind: PrincipalKind = 'user', ttlSeconds = 900) {
  const sub = randomUUID();
  const sid = randomUUID();
  await redis.hset(keys.session(sid), { userId: sub, kind, displayName: 'Alice' });
  return { sub, sid, token: signer.sign({ sub, kind, sid, name: 'Alice' }, ttlSeconds) };
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  redis = new Redis(redisUrl());
  checker.current = createSessionChecker(redis);
  await app.register(authPlugin, {
    verifier: createTokenVerifier(parsePublicKeys(pair.publicKey)),
    sessions: checker.current,
    internalToken: TEST_INTERNAL_TOKEN,
  });
  app.get('/me', { preHandler: app.requireAuth() }, async (request) => request.principal);
  app.get('/admin', { preHandler: app.requireAuth(['admin']) }, async (request) => request.principal);
  app.get('/internal/ping', { preHandler: app.requireInternal() }, async (request) => request.principal);
  app.get(
    '/internal/housekeeping',
    { preHandler: app.requireInternal({ allowAdmin: true }) },
    async (request) => request.principal,
  );
  await app.ready();
});
afterAll(async () => {
  await app.close();
  await redis.quit();
});

describe('requireAuth', () => {
  it('lets a valid token of a live session through, with the principal', async () => {
    const { sub, sid, token } = await login();
    const res = await app.inject({ url: '/me', headers: bearer(token) });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: sub, kind: 'user', sessionId: sid, displayName: 'Alice' });
  });

  it.each([
    ['no header', {}],
    ['an empty bearer', { authorization: 'Bearer ' }],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
    ['a token with spaces', { authorization: 'Bearer abc def ghi jkl' }],
    ['garbage', { authorization: 'Bearer not-a-jwt-at-all' }],
    [
      'a forged token',
      {
        authorization: `Bearer ${createTokenSigner(generateKeyPairPem().privateKey).sign({ sub: 'u', kind: 'admin', sid: 's' }, 900)}`,
      },
    ],
  ])('answers 401 UNAUTHORIZED for %s', async (_what, headers) => {
    const res = await app.inject({ url: '/me', headers });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
  });

  it('answers 401 TOKEN_EXPIRED for an expired token', async () => {
    const { token } = await login('user', -10);
    const res = await app.inject({ url: '/me', headers: bearer(token) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('TOKEN_EXPIRED');
  });

  it('answers 401 SESSION_REVOKED once the session key is deleted and the cache invalidated', async () => {
    const { sid, token } = await login();
    expect((await app.inject({ url: '/me', headers: bearer(token) })).statusCode).toBe(200);
    await redis.del(keys.session(sid));
    checker.current!.invalidate(sid);
    const res = await app.inject({ url: '/me', headers: bearer(token) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error).toEqual({ code: 'SESSION_REVOKED', message: expect.any(String) });
  });

  it('answers 401 SESSION_REVOKED for a valid token whose session never existed', async () => {
    const token = signer.sign({ sub: randomUUID(), kind: 'user', sid: randomUUID() }, 900);
    const res = await app.inject({ url: '/me', headers: bearer(token) });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('SESSION_REVOKED');
  });

  it('answers 403 FORBIDDEN to a kind the route does not allow', async () => {
    const guest = await login('guest');
    const res = await app.inject({ url: '/admin', headers: bearer(guest.token) });
    expect(res.statusCode).toBe(403);
    expect(res.json().error.code).toBe('FORBIDDEN');
    const admin = await login('admin');
    expect((await app.inject({ url: '/admin', headers: bearer(admin.token) })).statusCode).toBe(200);
  });

  it('does not accept the internal credential as a bearer token', async () => {
    const res = await app.inject({ url: '/me', headers: bearer(TEST_INTERNAL_TOKEN) });
    expect(res.statusCode).toBe(401);
  });
});

describe('requireInternal', () => {
  it('accepts the internal credential', async () => {
    const res = await app.inject({
      url: '/internal/ping',
      headers: { [INTERNAL_TOKEN_HEADER]: TEST_INTERNAL_TOKEN },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ id: 'internal', kind: 'service', sessionId: 'internal' });
  });

  it.each([
    ['a wrong credential', { [INTERNAL_TOKEN_HEADER]: `${TEST_INTERNAL_TOKEN}x` }],
    ['a prefix of it', { [INTERNAL_TOKEN_HEADER]: TEST_INTERNAL_TOKEN.slice(0, 10) }],
    ['an empty one', { [INTERNAL_TOKEN_HEADER]: '' }],
    ['none', {}],
  ])('answers 401 to %s', async (_what, headers) => {
    const res = await app.inject({ url: '/internal/ping', headers });
    expect(res.statusCode).toBe(401);
    expect(res.json().error.code).toBe('UNAUTHORIZED');
  });

  it('answers 403 to a user token, and to an admin token unless the route allows admins', async () => {
    const user = await login('user');
    const admin = await login('admin');
    expect((await app.inject({ url: '/internal/ping', headers: bearer(user.token) })).statusCode).toBe(403);
    expect((await app.inject({ url: '/internal/ping', headers: bearer(admin.token) })).statusCode).toBe(403);
    expect(
      (await app.inject({ url: '/internal/housekeeping', headers: bearer(user.token) })).statusCode,
    ).toBe(403);
    const ok = await app.inject({ url: '/internal/housekeeping', headers: bearer(admin.token) });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toMatchObject({ id: admin.sub, kind: 'admin' });
  });

  it('compares credentials without throwing on odd input', () => {
    expect(internalTokenMatches(TEST_INTERNAL_TOKEN, TEST_INTERNAL_TOKEN)).toBe(true);
    for (const presented of [undefined, null, 42, ['a'], '', 'short', `${TEST_INTERNAL_TOKEN} `])
      expect(internalTokenMatches(presented, TEST_INTERNAL_TOKEN)).toBe(false);
  });
});
