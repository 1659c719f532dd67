import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@voip/contracts/tokens';
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { AppError } from '../src/errors.js';
import {
  createTokenSigner,
  createTokenVerifier,
  generateKeyPairPem,
  keyId,
  parsePublicKeys,
  readPem,
  type TokenVerifier,
} from '../src/jwt.js';

const keys = generateKeyPairPem();
const signer = createTokenSigner(keys.privateKey);
const verifier = createTokenVerifier(parsePublicKeys(keys.publicKey));
const claims = () => ({ sub: randomUUID(), kind: 'user' as const, sid: randomUUID(), name: 'Alice' });

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const payload = () => ({ ...claims(), iat: now(), exp: now() + 600, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE });

/** The AppError code verify() refused the token with. */
function refusal(token: string, v: TokenVerifier = verifier): string {
  try {
    v.verify(token);
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('token was accepted');
}

describe('access tokens', () => {
  it('verifies what the signer issued, with issuer, audience, kid and the claims', () => {
    const c = claims();
    const token = signer.sign(c, 900);
    const header = jwt.decode(token, { complete: true })?.header;
    expect(header).toMatchObject({ alg: 'ES256', kid: signer.kid });
    expect(verifier.verify(token)).toMatchObject({ ...c, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE });
  });

  it('refuses a token signed with another key, whatever kid it claims', () => {
    const other = createTokenSigner(generateKeyPairPem().privateKey);
    expect(refusal(other.sign(claims(), 900))).toBe('UNAUTHORIZED');
    const forgedKid = jwt.sign(claims(), generateKeyPairPem().privateKey, {
      algorithm: 'ES256',
      expiresIn: 900,
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      keyid: signer.kid,
    });
    expect(refusal(forgedKid)).toBe('UNAUTHORIZED');
  });

  it('refuses alg "none", with or without a signature', () => {
    for (const header of [{ alg: 'none', typ: 'JWT' }, { alg: 'none', kid: signer.kid }, { alg: 'NONE' }]) {
      expect(refusal(`${b64(header)}.${b64(payload())}.`)).toBe('UNAUTHORIZED');
      expect(refusal(`${b64(header)}.${b64(payload())}`)).toBe('UNAUTHORIZED');
    }
    const unsigned = jwt.sign(payload(), '', { algorithm: 'none' });
    expect(refusal(unsigned)).toBe('UNAUTHORIZED');
  });

  it('refuses HS256 signed with the public key PEM as the HMAC secret', () => {
    for (const header of [
      { alg: 'HS256', typ: 'JWT' },
      { alg: 'HS256', kid: signer.kid },
    ]) {
      const input = `${b64(header)}.${b64(payload())}`;
      const sig = createHmac('sha256', keys.publicKey).update(input).digest('base64url');
      expect(refusal(`${input}.${sig}`)).toBe('UNAUTHORIZED');
    }
  });

  it('refuses other asymmetric algorithms (RS256 with a kid that exists)', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = jwt.sign(payload(), rsa.privateKey, { algorithm: 'RS256', keyid: signer.kid });
    expect(refusal(token)).toBe('UNAUTHORIZED');
  });

  it('says TOKEN_EXPIRED for an expired token', () => {
    expect(refusal(signer.sign(claims(), -30))).toBe('TOKEN_EXPIRED');
  });

  it('refuses the wrong issuer or audience', () => {
    const sign = (opts: jwt.SignOptions) =>
      jwt.sign(claims(), keys.privateKey, { algorithm: 'ES256', expiresIn: 900, keyid: signer.kid, ...opts });
    expect(refusal(sign({ issuer: 'someone-else', audience: TOKEN_AUDIENCE }))).toBe('UNAUTHORIZED');
    expect(refusal(sign({ issuer: TOKEN_ISSUER, audience: 'another-app' }))).toBe('UNAUTHORIZED');
    expect(refusal(sign({ audience: TOKEN_AUDIENCE }))).toBe('UNAUTHORIZED');
    expect(refusal(sign({ issuer: TOKEN_ISSUER }))).toBe('UNAUTHORIZED');
  });

  it('refuses a correctly signed token whose claims do not match the contract', () => {
    const sign = (body: object) =>
      jwt.sign(body, keys.privateKey, {
        algorithm: 'ES256',
        expiresIn: 900,
        keyid: signer.kid,
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
      });
    expect(refusal(sign({ sub: randomUUID(), kind: 'user' }))).toBe('UNAUTHORIZED');
    expect(refusal(sign({ ...claims(), kind: 'root' }))).toBe('UNAUTHORIZED');
    expect(refusal(sign({ ...claims(), sub: { $ne: null } }))).toBe('UNAUTHORIZED');
  });

  it.each([
    '',
    'garbage',
    'a.b.c',
    'a.b',
    '...',
    `${b64({ alg: 'ES256' })}.bm90IGpzb24.sig`,
    `${b64('str')}.${b64('str')}.x`,
  ])('refuses garbage %j', (token) => {
    expect(refusal(token)).toBe('UNAUTHORIZED');
  });
});

describe('key rotation', () => {
  const next = generateKeyPairPem();
  const nextSigner = createTokenSigner(next.privateKey);
  // Two PEM blocks in one variable, as JWT_PUBLIC_KEY holds them during a rotation.
  const rotating = createTokenVerifier(parsePublicKeys(`${keys.publicKey}\n${next.publicKey}`));

  it('accepts tokens of either key by kid, and no other', () => {
    expect(nextSigner.kid).not.toBe(signer.kid);
    expect(rotating.verify(signer.sign(claims(), 900)).kind).toBe('user');
    expect(rotating.verify(nextSigner.sign(claims(), 900)).kind).toBe('user');
    expect(refusal(createTokenSigner(generateKeyPairPem().privateKey).sign(claims(), 900), rotating)).toBe(
      'UNAUTHORIZED',
    );
  });

  it('needs a kid once there are several keys', () => {
    const noKid = jwt.sign(claims(), keys.privateKey, {
      algorithm: 'ES256',
      expiresIn: 900,
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
    });
    expect(verifier.verify(noKid).sid).toBeTruthy();
    expect(refusal(noKid, rotating)).toBe('UNAUTHORIZED');
  });
});

describe('key material', () => {
  it('derives the kid from the public key', () => {
    const [[kid, key]] = [...parsePublicKeys(keys.publicKey)] as [[string, Parameters<typeof keyId>[0]]];
    expect(kid).toBe(signer.kid);
    expect(keyId(key)).toBe(kid);
  });

  it('refuses non-EC keys and text without a PEM block', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(() => parsePublicKeys(rsaPem)).toThrow(/EC P-256/);
    expect(() => parsePublicKeys('not a key')).toThrow(/no PEM public key/);
    expect(() =>
      createTokenSigner(rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()),
    ).toThrow(/EC P-256/);
  });

  it('reads PEM from a variable with literal \\n, and names the variable when neither is set', () => {
    const oneLine = keys.publicKey.replace(/\n/g, '\\n');
    expect(readPem(oneLine, undefined, 'JWT_PUBLIC_KEY')).toBe(keys.publicKey);
    expect(() => readPem(undefined, undefined, 'JWT_PUBLIC_KEY')).toThrow(
      /JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE/,
    );
  });
});
