// OAuth 2.0 access tokens for a Google service account (the JWT-bearer grant, RFC 7523): a signed RS256
// assertion is exchanged at the token URL for a bearer token, cached until shortly before it expires.
// Concurrent callers share one refresh, so a burst of pushes costs one token request.
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface ServiceAccount {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  project_id?: string;
  token_uri?: string;
}

export const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** Parses the service-account JSON (inline or from a file); throws an Error naming what is missing. */
export function readServiceAccount(json: string | undefined, file: string | undefined): ServiceAccount {
  const raw = json ?? (file ? readFileSync(file, 'utf8') : undefined);
  if (!raw) throw new Error('no service account given');
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error('service account is not valid JSON');
  }
  const sa = value as Partial<ServiceAccount>;
  if (typeof sa.client_email !== 'string' || typeof sa.private_key !== 'string')
    throw new Error('service account needs client_email and private_key');
  return sa as ServiceAccount;
}

export class TokenError extends Error {
  override name = 'TokenError';
}

export interface AccessTokenSource {
  /** A valid bearer token (cached or fresh). Throws TokenError when the token endpoint fails. */
  getToken(signal?: AbortSignal): Promise<string>;
  /** Forget the cached token (the API said 401). */
  invalidate(): void;
}

export interface AccessTokenSourceOptions {
  account: ServiceAccount;
  scope: string;
  /** Overrides account.token_uri. */
  tokenUrl?: string | undefined;
  timeoutMs: number;
  now?: () => number;
}

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

export function signAssertion(
  account: ServiceAccount,
  key: KeyObject,
  scope: string,
  audience: string,
  nowSec: number,
): string {
  const header = {
    alg: 'RS256',
    typ: 'JWT',
    ...(account.private_key_id ? { kid: account.private_key_id } : {}),
  };
  const claims = { iss: account.client_email, scope, aud: audience, iat: nowSec, exp: nowSec + 3600 };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  return `${input}.${b64url(sign('RSA-SHA256', Buffer.from(input), key))}`;
}

export function createAccessTokenSource(opts: AccessTokenSourceOptions): AccessTokenSource {
  const now = opts.now ?? Date.now;
  const tokenUrl = opts.tokenUrl ?? opts.account.token_uri ?? GOOGLE_TOKEN_URL;
  const key = createPrivateKey(opts.account.private_key.replace(/\\n/g, '\n'));
  let cached: { token: string; refreshAt: number } | undefined;
  let inflight: Promise<string> | undefined;

  async function fetchToken(signal?: AbortSignal): Promise<string> {
    const assertion = signAssertion(opts.account, key, opts.scope, tokenUrl, Math.floor(now() / 1000));
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    let res: Response;
    try {
      res = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion }).toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw new TokenError(`token endpoint unreachable: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => null)) as {
      access_token?: unknown;
      expires_in?: unknown;
    } | null;
    if (!res.ok || typeof body?.access_token !== 'string')
      throw new TokenError(
        `token endpoint answered ${res.status}${body && 'error' in body ? ` (${String(body.error)})` : ''}`,
      );
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 3600;
    // Refresh a minute early (or halfway for very short tokens) so no request goes out with a dying token.
    const margin = Math.min(60, expiresIn / 2) * 1000;
    cached = { token: body.access_token, refreshAt: now() + expiresIn * 1000 - margin };
    return body.access_token;
  }

  return {
    async getToken(signal) {
      if (cached && now() < cached.refreshAt) return cached.token;
      inflight ??= fetchToken(signal).finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
