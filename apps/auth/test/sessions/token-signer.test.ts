import { ConfigError } from '@voip/kit/config';
import { createTokenVerifier, generateKeyPairPem, parsePublicKeys } from '@voip/kit/jwt';
import { testKeys } from '@voip/testkit/env';
import { describe, expect, it } from 'vitest';
import { loadTokenSigner } from '../../src/sessions/token-signer.js';

describe('loadTokenSigner', () => {
  it('signs tokens the shared verifier accepts', () => {
    const k = testKeys();
    const signer = loadTokenSigner({ JWT_PRIVATE_KEY: k.privateKey, JWT_PUBLIC_KEY: k.publicKey });
    const verifier = createTokenVerifier(parsePublicKeys(k.publicKey));
    expect(verifier.verify(signer.sign({ sub: 'u1', kind: 'user', sid: 's1' }, 60))).toMatchObject({
      sub: 'u1',
      sid: 's1',
    });
  });

  it('accepts env values with literal \\n, as .env files carry them', () => {
    const k = testKeys();
    const signer = loadTokenSigner({
      JWT_PRIVATE_KEY: k.privateKey.replace(/\n/g, '\\n'),
      JWT_PUBLIC_KEY: k.publicKey,
    });
    expect(signer.kid).toHaveLength(16);
  });

  it('refuses to start without a private key, naming the variable', () => {
    expect(() => loadTokenSigner({ JWT_PUBLIC_KEY: testKeys().publicKey })).toThrow(ConfigError);
    expect(() => loadTokenSigner({ JWT_PUBLIC_KEY: testKeys().publicKey })).toThrow(/JWT_PRIVATE_KEY/);
  });

  it('refuses a private key whose public half JWT_PUBLIC_KEY does not list', () => {
    const other = generateKeyPairPem();
    expect(() =>
      loadTokenSigner({ JWT_PRIVATE_KEY: other.privateKey, JWT_PUBLIC_KEY: testKeys().publicKey }),
    ).toThrow(/JWT_PRIVATE_KEY does not match/);
  });

  it('accepts the key when JWT_PUBLIC_KEY lists it among others (rotation)', () => {
    const other = generateKeyPairPem();
    const bundle = `${other.publicKey}\n${testKeys().publicKey}`;
    expect(() =>
      loadTokenSigner({ JWT_PRIVATE_KEY: testKeys().privateKey, JWT_PUBLIC_KEY: bundle }),
    ).not.toThrow();
  });

  it('refuses something that is not a PEM private key', () => {
    expect(() =>
      loadTokenSigner({ JWT_PRIVATE_KEY: 'not a key', JWT_PUBLIC_KEY: testKeys().publicKey }),
    ).toThrow(/JWT_PRIVATE_KEY must hold/);
    expect(() =>
      loadTokenSigner({ JWT_PRIVATE_KEY_FILE: '/nonexistent/key.pem', JWT_PUBLIC_KEY: testKeys().publicKey }),
    ).toThrow(/JWT_PRIVATE_KEY_FILE/);
  });
});
