// Access tokens an attacker can make: unsigned, HMAC'd with the (public) verifying key, signed with a
// key of their own, or — for the cases that need the real signature to reach the claim checks — signed
// with the stack's real private key but with a claim that must still be refused.
import { createHmac, createPrivateKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface Claims {
  sub: string;
  kind: string;
  sid: string;
  name?: string;
  iat: number;
  exp: number;
  iss?: string;
  aud?: string | string[];
}

/** Header and claims of a real token (no verification: the attacker reads its own token). */
export function decode(token: string): { header: Record<string, string>; claims: Claims } {
  const [h, p] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')),
    claims: JSON.parse(Buffer.from(p ?? '', 'base64url').toString('utf8')),
  };
}

export function es256(header: Record<string, unknown>, claims: object, key: KeyObject): string {
  const input = `${b64({ typ: 'JWT', ...header, alg: 'ES256' })}.${b64(claims)}`;
  const sig = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `${input}.${sig}`;
}

interface ForgeContext {
  header: Record<string, string>;
  claims: Claims;
  fresh: Claims;
  now: number;
  parts: string[];
  privateKey: KeyObject;
  attackerKey: KeyObject;
  publicPem: string;
}

const hs256 = (c: ForgeContext, secret: string) => {
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: c.header.kid })}.${b64({ ...c.fresh, kind: 'admin' })}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
};

/** Every forgery tried, by name; each makes a token from a real one of the victim's. */
export const FORGERIES: Record<string, (c: ForgeContext) => string> = {
  'alg none': (c) => `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...c.fresh, kind: 'admin' })}.`,
  'alg none with the real kid': (c) =>
    `${b64({ alg: 'none', typ: 'JWT', kid: c.header.kid })}.${b64(c.fresh)}.`,
  'HS256 signed with the public key (PEM)': (c) => hs256(c, c.publicPem),
  'HS256 signed with the public key (trimmed PEM)': (c) => hs256(c, c.publicPem.trim()),
  'ES256 by an attacker key under the real kid': (c) =>
    es256({ kid: c.header.kid }, { ...c.fresh, kind: 'admin' }, c.attackerKey),
  'ES256 by an attacker key without a kid': (c) => es256({}, c.fresh, c.attackerKey),
  'ES256 by the real key under an unknown kid': (c) => es256({ kid: 'not-a-key-id' }, c.fresh, c.privateKey),
  'claims changed under the real signature': (c) =>
    `${c.parts[0]}.${b64({ ...c.claims, kind: 'admin' })}.${c.parts[2]}`,
  'wrong issuer': (c) => es256({ kid: c.header.kid }, { ...c.fresh, iss: 'evil-auth' }, c.privateKey),
  'no issuer': (c) => es256({ kid: c.header.kid }, { ...c.fresh, iss: undefined }, c.privateKey),
  'wrong audience': (c) => es256({ kid: c.header.kid }, { ...c.fresh, aud: 'someone-else' }, c.privateKey),
  expired: (c) =>
    es256({ kid: c.header.kid }, { ...c.claims, iat: c.now - 3600, exp: c.now - 1800 }, c.privateKey),
  'unknown kind': (c) => es256({ kid: c.header.kid }, { ...c.fresh, kind: 'service' }, c.privateKey),
  'session that does not exist': (c) =>
    es256({ kid: c.header.kid }, { ...c.fresh, sid: '01JUNKSESSION0000000000000' }, c.privateKey),
  'not a JWT': () => 'Zm9vYmFyYmF6cXV4.Zm9vYmFyYmF6cXV4.Zm9vYmFy',
};

/** The forgery `name` of the real token `real`, using the stack's keys in `stateDir`. */
export function forge(stateDir: string, real: string, name: string): string {
  const { header, claims } = decode(real);
  const now = Math.floor(Date.now() / 1000);
  const make = FORGERIES[name];
  if (!make) throw new Error(`no forgery ${name}`);
  return make({
    header,
    claims,
    fresh: { ...claims, iat: now, exp: now + 600 },
    now,
    parts: real.split('.'),
    privateKey: createPrivateKey(readFileSync(join(stateDir, 'secrets', 'jwt-private.pem'), 'utf8')),
    attackerKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    publicPem: readFileSync(join(stateDir, 'secrets', 'jwt-public.pem'), 'utf8'),
  });
}
