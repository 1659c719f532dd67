import { createTokenSigner, generateKeyPairPem } from '@voip/kit/jwt';
import { testKeys } from '@voip/testkit/env';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AuthApp,
  bearer,
  claims,
  craftJwt,
  es256With,
  hs256With,
  PASSWORD,
  type Registered,
  register,
  startAuth,
} from '../helpers.js';

describe('bad input never reaches a query, and bad tokens are refused', () => {
  let app: AuthApp;
  let user: Registered;
  let sid: string;
  let kid: string;
  beforeAll(async () => {
    app = await startAuth();
    user = await register(app);
    sid = (await app.inject({ url: '/api/auth/me', headers: bearer(user.accessToken) })).json().sessionId;
    kid = createTokenSigner(testKeys().privateKey).kid;
  });
  afterAll(() => app.close());

  const post = (url: string, payload: unknown) =>
    app.inject({ method: 'POST', url: `/api/auth${url}`, payload: payload as object });
  const expectValidation = (res: Awaited<ReturnType<typeof post>>) => {
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
    expect(res.body).not.toMatch(/at .*\.js|stack/i);
  };

  describe('bodies', () => {
    it('missing fields are 400 VALIDATION_FAILED', async () => {
      expectValidation(await post('/register', { username: 'someone', password: PASSWORD }));
      expectValidation(await post('/register', {}));
      expectValidation(await post('/login', { username: user.username }));
      expectValidation(await post('/login', { password: PASSWORD }));
      expectValidation(await post('/refresh', {}));
      expectValidation(await post('/guest', {}));
    });

    it('a missing body is 400', async () => {
      for (const url of ['/register', '/login', '/refresh', '/guest']) {
        const res = await app.inject({ method: 'POST', url: `/api/auth${url}` });
        expect(res.statusCode).toBe(400);
      }
    });

    it('wrong types are 400', async () => {
      expectValidation(await post('/login', { username: ['a', 'b'], password: PASSWORD }));
      expectValidation(
        await post('/register', { username: 'typed_user', password: { p: 1 }, displayName: 'T' }),
      );
      expectValidation(
        await post('/register', { username: 'typed_user', password: PASSWORD, displayName: null }),
      );
      expectValidation(await post('/refresh', { refreshToken: 12 }));
      expectValidation(await post('/guest', { displayName: { first: 'a' } }));
      expectValidation(await post('/login', [user.username, PASSWORD]));
    });

    it('operator injection such as {"$ne": null} is a 400, never a query', async () => {
      const ops = [{ $ne: null }, { $gt: '' }, { $regex: '.*' }, { $exists: true }];
      for (const op of ops) {
        expectValidation(await post('/login', { username: op, password: op }));
        expectValidation(await post('/login', { username: user.username, password: op }));
        expectValidation(await post('/login', { username: op, password: PASSWORD }));
        expectValidation(await post('/register', { username: op, password: PASSWORD, displayName: 'X' }));
        expectValidation(await post('/refresh', { refreshToken: op }));
      }
    });

    it('operator-looking strings are just strings: an ordinary failed login', async () => {
      const res = await post('/login', { username: '{"$ne":null}', password: '{"$ne":null}' });
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe('INVALID_CREDENTIALS');
    });

    it('unknown fields are 400', async () => {
      expectValidation(await post('/login', { username: user.username, password: PASSWORD, kind: 'admin' }));
      expectValidation(
        await post('/register', {
          username: 'extra_user',
          password: PASSWORD,
          displayName: 'E',
          kind: 'admin',
        }),
      );
      expectValidation(await post('/guest', { displayName: 'G', id: 'chosen' }));
      expectValidation(await post('/refresh', { refreshToken: user.refreshToken, sid }));
    });

    it('values out of range are 400: short password, bad username, blank display name', async () => {
      expectValidation(
        await post('/register', { username: 'short_pw', password: 'short', displayName: 'S' }),
      );
      expectValidation(
        await post('/register', { username: 'has space', password: PASSWORD, displayName: 'S' }),
      );
      expectValidation(
        await post('/register', { username: '_leading', password: PASSWORD, displayName: 'S' }),
      );
      expectValidation(
        await post('/register', { username: 'x'.repeat(33), password: PASSWORD, displayName: 'S' }),
      );
      expectValidation(await post('/guest', { displayName: '   ' }));
      expectValidation(await post('/guest', { displayName: 'x'.repeat(65) }));
      expectValidation(await post('/guest', { displayName: 'Bob\u0001' }));
      expectValidation(await post('/guest', { displayName: 'Caller\nID: Your Bank' }));
    });

    it('an oversized body is 413 PAYLOAD_TOO_LARGE', async () => {
      const res = await post('/login', { username: user.username, password: 'x'.repeat(70 * 1024) });
      expect(res.statusCode).toBe(413);
      expect(res.json().error.code).toBe('PAYLOAD_TOO_LARGE');
    });

    it('broken JSON is 400 and a form body is 415', async () => {
      const broken = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/json' },
        payload: '{"username":',
      });
      expect(broken.statusCode).toBe(400);
      expect(broken.json().error).toBeDefined();
      const form = await app.inject({
        method: 'POST',
        url: '/api/auth/login',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'username=a',
      });
      expect(form.statusCode).toBe(415);
    });

    it('after all of that the user still logs in normally', async () => {
      expect((await post('/login', { username: user.username, password: PASSWORD })).statusCode).toBe(200);
    });
  });

  describe('tokens', () => {
    const meWith = (token: string) => app.inject({ url: '/api/auth/me', headers: bearer(token) });
    const expectUnauthorized = async (token: string, code = 'UNAUTHORIZED') => {
      const res = await meWith(token);
      expect(res.statusCode).toBe(401);
      expect(res.json().error.code).toBe(code);
    };
    const valid = () => claims({ sub: user.userId, sid });

    it('the genuine token of the session is accepted (control)', async () => {
      expect(
        (await meWith(craftJwt({ alg: 'ES256', typ: 'JWT', kid }, valid(), es256With(testKeys().privateKey))))
          .statusCode,
      ).toBe(200);
    });

    it('refuses a token signed by another key, with or without our key id', async () => {
      const other = generateKeyPairPem();
      await expectUnauthorized(
        createTokenSigner(other.privateKey).sign({ sub: user.userId, kind: 'admin', sid }, 600),
      );
      await expectUnauthorized(
        craftJwt({ alg: 'ES256', typ: 'JWT', kid }, valid(), es256With(other.privateKey)),
      );
      await expectUnauthorized(craftJwt({ alg: 'ES256', typ: 'JWT' }, valid(), es256With(other.privateKey)));
    });

    it('refuses alg none', async () => {
      await expectUnauthorized(craftJwt({ alg: 'none', typ: 'JWT' }, valid(), () => ''));
      await expectUnauthorized(craftJwt({ alg: 'none', typ: 'JWT', kid }, valid(), () => ''));
    });

    it('refuses HS256 signed with the public key as the secret', async () => {
      await expectUnauthorized(
        craftJwt({ alg: 'HS256', typ: 'JWT' }, valid(), hs256With(testKeys().publicKey)),
      );
      await expectUnauthorized(
        craftJwt({ alg: 'HS256', typ: 'JWT', kid }, valid(), hs256With(testKeys().publicKey)),
      );
    });

    it('refuses an expired token with TOKEN_EXPIRED', async () => {
      const expired = createTokenSigner(testKeys().privateKey).sign(
        { sub: user.userId, kind: 'user', sid },
        -60,
      );
      await expectUnauthorized(expired, 'TOKEN_EXPIRED');
    });

    it('refuses a well-signed token whose session does not exist', async () => {
      const orphan = createTokenSigner(testKeys().privateKey).sign(
        { sub: user.userId, kind: 'user', sid: '01J00000000000000000000000' },
        600,
      );
      await expectUnauthorized(orphan, 'SESSION_REVOKED');
    });

    it('refuses a well-signed token for the wrong issuer or audience, and a tampered payload', async () => {
      const sign = es256With(testKeys().privateKey);
      await expectUnauthorized(
        craftJwt({ alg: 'ES256', typ: 'JWT', kid }, { ...valid(), iss: 'someone-else' }, sign),
      );
      await expectUnauthorized(
        craftJwt({ alg: 'ES256', typ: 'JWT', kid }, { ...valid(), aud: 'other' }, sign),
      );
      const [h, , s] = user.accessToken.split('.');
      const tampered = `${h}.${Buffer.from(JSON.stringify({ ...valid(), kind: 'admin' })).toString('base64url')}.${s}`;
      await expectUnauthorized(tampered);
    });

    it('refuses garbage and non-bearer schemes', async () => {
      await expectUnauthorized('not-a-jwt-at-all');
      const basic = await app.inject({
        url: '/api/auth/me',
        headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` },
      });
      expect(basic.statusCode).toBe(401);
    });
  });
});
