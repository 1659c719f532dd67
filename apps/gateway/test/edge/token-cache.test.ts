// The verified-token cache in front of the real ES256 verifier: what it may remember, for how long,
// and that it never stands in for a check it did not do.
import { generateKeyPairSync } from 'node:crypto';
import { AppError } from '@voip/kit/errors';
import { createTokenSigner, createTokenVerifier, parsePublicKeys, type TokenVerifier } from '@voip/kit/jwt';
import { testKeys } from '@voip/testkit/env';
import { describe, expect, it } from 'vitest';
import { createCachingVerifier } from '../../src/edge/token-cache.js';

const signer = createTokenSigner(testKeys().privateKey);
const real = createTokenVerifier(parsePublicKeys(testKeys().publicKey));

/** The real verifier, counting how often the cache had to ask it. */
function counted(inner: TokenVerifier) {
  const c = {
    calls: 0,
    verify(t: string) {
      c.calls++;
      return inner.verify(t);
    },
  };
  return c;
}
const token = (sub: string, ttlSeconds = 900) => signer.sign({ sub, kind: 'user', sid: `s${sub}` }, ttlSeconds);
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'accepted';
  } catch (err) {
    return err instanceof AppError ? err.code : String(err);
  }
};

describe('createCachingVerifier', () => {
  it('checks a token once and answers repeats from memory with the same claims', () => {
    const inner = counted(real);
    const cache = createCachingVerifier(inner, { maxAgeMs: 5000, maxEntries: 10 });
    const t = token('u1');
    const first = cache.verify(t);
    expect(cache.verify(t)).toEqual(first);
    expect(cache.verify(t).sub).toBe('u1');
    expect(inner.calls).toBe(1);
  });

  it('checks again once maxAge has passed', () => {
    let now = Date.now();
    const inner = counted(real);
    const cache = createCachingVerifier(inner, { maxAgeMs: 1000, maxEntries: 10, now: () => now });
    const t = token('u2');
    cache.verify(t);
    now += 999;
    cache.verify(t);
    expect(inner.calls).toBe(1);
    now += 2;
    cache.verify(t);
    expect(inner.calls).toBe(2);
  });

  it('never keeps a token past its exp, however long maxAge is', () => {
    let now = Date.now();
    const inner = counted(real);
    const cache = createCachingVerifier(inner, { maxAgeMs: 3_600_000, maxEntries: 10, now: () => now });
    const t = token('u3', 60);
    const { exp } = cache.verify(t);
    now = exp * 1000 - 1;
    cache.verify(t);
    expect(inner.calls).toBe(1);
    now = exp * 1000;
    cache.verify(t);
    expect(inner.calls).toBe(2);
  });

  it('refuses a cached token once it has really expired', async () => {
    const cache = createCachingVerifier(real, { maxAgeMs: 3_600_000, maxEntries: 10 });
    // exp is whole seconds from a floored iat: 3 s leaves at least 2 s for the first checks.
    const t = token('u4', 3);
    const { exp } = cache.verify(t);
    expect(codeOf(() => cache.verify(t))).toBe('accepted');
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    expect(codeOf(() => cache.verify(t))).toBe('TOKEN_EXPIRED');
  });

  it('does not remember failures: a bad token is checked (and refused) every time', () => {
    const inner = counted(real);
    const cache = createCachingVerifier(inner, { maxAgeMs: 5000, maxEntries: 10 });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const forged = createTokenSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const bad = forged.sign({ sub: 'u5', kind: 'admin', sid: 's5' }, 900);
    expect(codeOf(() => cache.verify(bad))).toBe('UNAUTHORIZED');
    expect(codeOf(() => cache.verify(bad))).toBe('UNAUTHORIZED');
    expect(inner.calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('is keyed by the exact token string: an edited copy of a cached token is checked, and refused', () => {
    const cache = createCachingVerifier(real, { maxAgeMs: 5000, maxEntries: 10 });
    const t = token('u6');
    cache.verify(t);
    const [h, p, sig] = t.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const edited = Buffer.from(JSON.stringify({ ...claims, kind: 'admin' })).toString('base64url');
    expect(codeOf(() => cache.verify(`${h}.${edited}.${sig}`))).toBe('UNAUTHORIZED');
  });

  it('stays within maxEntries, evicting the least recently used', () => {
    const inner = counted(real);
    const cache = createCachingVerifier(inner, { maxAgeMs: 60_000, maxEntries: 2 });
    const [a, b, c] = [token('a'), token('b'), token('c')];
    cache.verify(a);
    cache.verify(b);
    cache.verify(a); // a is now the most recently used
    cache.verify(c); // evicts b
    expect(cache.size).toBe(2);
    expect(inner.calls).toBe(3);
    cache.verify(a);
    cache.verify(c);
    expect(inner.calls).toBe(3);
    cache.verify(b);
    expect(inner.calls).toBe(4);
  });
});
