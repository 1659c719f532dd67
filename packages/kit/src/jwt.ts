// Access tokens: ES256 JWTs signed by auth alone (private key) and verified everywhere else with the
// public key(s). The algorithm is pinned, so `alg: none` and HS256-with-the-public-key are refused;
// key ids (`kid`) let two public keys be accepted during a rotation.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AccessTokenClaims, TOKEN_AUDIENCE, TOKEN_ISSUER } from '@voip/contracts/tokens';
import { validator } from '@voip/contracts/validate';
import jwt from 'jsonwebtoken';
import { ConfigError } from './config.js';
import { AppError } from './errors.js';

export const JWT_ALGORITHM = 'ES256' as const;
const claimsValidator = validator(AccessTokenClaims);

export function keyId(publicKey: KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64url').slice(0, 16);
}

/** Splits a PEM bundle (one or more public keys) into KeyObjects keyed by kid. */
export function parsePublicKeys(pemBundle: string): Map<string, KeyObject> {
  const blocks = pemBundle.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) throw new Error('no PEM public key found');
  const keys = new Map<string, KeyObject>();
  for (const b of blocks) {
    const k = createPublicKey(b);
    if (k.asymmetricKeyType !== 'ec') throw new Error('JWT public keys must be EC P-256 (ES256)');
    keys.set(keyId(k), k);
  }
  return keys;
}

/** Reads PEM from VAR or VAR_FILE (env values may carry literal "\n"). */
export function readPem(value: string | undefined, file: string | undefined, name: string): string {
  if (value) return value.replace(/\\n/g, '\n');
  if (file) return readFileSync(file, 'utf8');
  throw new Error(`config: ${name} or ${name}_FILE is required`);
}

/**
 * The verifying key(s) from JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE, for start-up: anything missing,
 * unreadable or not EC P-256 is a ConfigError naming the variable, so the process stops with one line.
 */
export function loadPublicKeys(c: {
  JWT_PUBLIC_KEY?: string | undefined;
  JWT_PUBLIC_KEY_FILE?: string | undefined;
}): Map<string, KeyObject> {
  if (!c.JWT_PUBLIC_KEY && !c.JWT_PUBLIC_KEY_FILE)
    throw new ConfigError('JWT_PUBLIC_KEY', 'or JWT_PUBLIC_KEY_FILE is required but not set');
  const name = c.JWT_PUBLIC_KEY ? 'JWT_PUBLIC_KEY' : 'JWT_PUBLIC_KEY_FILE';
  try {
    return parsePublicKeys(readPem(c.JWT_PUBLIC_KEY, c.JWT_PUBLIC_KEY_FILE, 'JWT_PUBLIC_KEY'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'names a file that does not exist' : 'must hold PEM EC P-256 public key(s)';
    throw new ConfigError(name, why);
  }
}

export interface TokenVerifier {
  verify(token: string): AccessTokenClaims;
}

export function createTokenVerifier(publicKeys: Map<string, KeyObject>): TokenVerifier {
  const only = publicKeys.size === 1 ? [...publicKeys.values()][0] : undefined;
  return {
    verify(token) {
      const decoded = jwt.decode(token, { complete: true });
      if (!decoded || typeof decoded.payload === 'string') throw new AppError('UNAUTHORIZED', 'malformed token');
      if (decoded.header.alg !== JWT_ALGORITHM) throw new AppError('UNAUTHORIZED', 'unexpected token algorithm');
      const key = decoded.header.kid ? publicKeys.get(decoded.header.kid) : only;
      if (!key) throw new AppError('UNAUTHORIZED', 'unknown signing key');
      let payload: unknown;
      try {
        payload = jwt.verify(token, key, { algorithms: [JWT_ALGORITHM], issuer: TOKEN_ISSUER, audience: TOKEN_AUDIENCE });
      } catch (err) {
        if (err instanceof jwt.TokenExpiredError) throw new AppError('TOKEN_EXPIRED', 'access token expired');
        throw new AppError('UNAUTHORIZED', 'invalid token');
      }
      if (!claimsValidator.check(payload)) throw new AppError('UNAUTHORIZED', 'invalid token claims');
      return payload;
    },
  };
}

export interface TokenSigner {
  readonly kid: string;
  readonly publicKey: KeyObject;
  sign(claims: Pick<AccessTokenClaims, 'sub' | 'kind' | 'sid'> & { name?: string }, ttlSeconds: number): string;
}

export function createTokenSigner(privateKeyPem: string): TokenSigner {
  const privateKey = createPrivateKey(privateKeyPem);
  if (privateKey.asymmetricKeyType !== 'ec') throw new Error('JWT private key must be EC P-256 (ES256)');
  const publicKey = createPublicKey(privateKey);
  const kid = keyId(publicKey);
  return {
    kid,
    publicKey,
    sign: (claims, ttlSeconds) =>
      jwt.sign(claims, privateKey, {
        algorithm: JWT_ALGORITHM,
        expiresIn: ttlSeconds,
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        keyid: kid,
      }),
  };
}

/** A fresh P-256 key pair as PEM, for scripts/dev and tests. */
export function generateKeyPairPem(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}
