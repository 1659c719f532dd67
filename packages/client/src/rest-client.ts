// HTTP to the public API (through Nginx): bearer tokens, API.md's error shape as ApiError, and
// access-token refresh that is single-flight (one POST /refresh however many requests hit a 401 at
// once), because refresh tokens rotate and a second concurrent use would revoke the whole session.
import type { TokenPair } from '@voip/contracts/auth';
import { ApiError } from './api-error.js';
import { Emitter } from './emitter.js';
import type { KeyValueStorage } from './storage.js';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** When the access token stops being accepted (ms since epoch, from its `exp`). */
  expiresAt: number;
}

export interface RestClientOptions {
  /** Public base URL, e.g. `http://host:8080` (the SDK adds `/api/...`). */
  baseUrl: string;
  storage: KeyValueStorage;
  fetch?: typeof fetch;
  /** Refresh before sending when the stored access token has (almost) expired; default true. */
  proactiveRefresh?: boolean;
  /** How long before `exp` a token counts as expired for the proactive refresh; default 5 s. */
  refreshMarginMs?: number;
  /** Per-request time limit; default 15 s. */
  timeoutMs?: number;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Send the bearer token (default true). */
  auth?: boolean;
}

interface RestEvents {
  /** Tokens changed (login, refresh, logout); null when signed out. */
  tokens: Tokens | null;
  /** The refresh token was refused: the user must sign in again. */
  'session-lost': ApiError;
}

/** The storage key of the session's tokens (the WebView bridge hands it to the app's own token store). */
export const TOKENS_KEY = 'voip.tokens';

/** `exp` of a JWT in ms, read without verifying (the server verifies; we only schedule). */
export function tokenExpiry(jwt: string): number | null {
  const part = jwt.split('.')[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(part.length / 4) * 4, '='));
    const exp = (JSON.parse(json) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : null;
  } catch {
    return null;
  }
}

export function tokensFromPair(pair: TokenPair, now = Date.now()): Tokens {
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    expiresAt: tokenExpiry(pair.accessToken) ?? now + pair.expiresIn * 1000,
  };
}

export class RestClient extends Emitter<RestEvents> {
  readonly baseUrl: string;
  readonly #storage: KeyValueStorage;
  readonly #fetch: typeof fetch;
  readonly #proactive: boolean;
  readonly #marginMs: number;
  readonly #timeoutMs: number;
  #tokens: Tokens | null;
  #refreshing: Promise<Tokens> | null = null;

  constructor(opts: RestClientOptions) {
    super();
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#storage = opts.storage;
    // Unbound window.fetch throws "Illegal invocation" in browsers.
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#proactive = opts.proactiveRefresh ?? true;
    this.#marginMs = opts.refreshMarginMs ?? 5000;
    this.#timeoutMs = opts.timeoutMs ?? 15_000;
    this.#tokens = this.#loadTokens();
  }

  get tokens(): Tokens | null {
    return this.#tokens;
  }

  setTokens(tokens: Tokens | null): void {
    this.#tokens = tokens;
    if (tokens) this.#storage.setItem(TOKENS_KEY, JSON.stringify(tokens));
    else this.#storage.removeItem(TOKENS_KEY);
    this.emit('tokens', tokens);
  }

  /** True when the stored access token is past (or within the margin of) its expiry. */
  accessTokenExpired(now = Date.now()): boolean {
    return !this.#tokens || this.#tokens.expiresAt - this.#marginMs <= now;
  }

  /** A usable access token: the stored one, or a fresh one when it has expired. */
  async accessToken(): Promise<string> {
    if (!this.#tokens) throw new ApiError(401, 'UNAUTHORIZED', 'not signed in');
    if (this.#proactive && this.accessTokenExpired()) return (await this.refresh()).accessToken;
    return this.#tokens.accessToken;
  }

  /**
   * Exchanges the refresh token for a new pair. Concurrent callers share one request. A refused
   * refresh token (401) signs the client out and emits `session-lost`.
   */
  refresh(): Promise<Tokens> {
    if (this.#refreshing) return this.#refreshing;
    const current = this.#tokens;
    if (!current) return Promise.reject(new ApiError(401, 'UNAUTHORIZED', 'not signed in'));
    this.#refreshing = (async () => {
      try {
        const pair = await this.#send<TokenPair>('POST', '/api/auth/refresh', {
          body: { refreshToken: current.refreshToken },
          auth: false,
        });
        const tokens = tokensFromPair(pair);
        // A logout that raced this refresh wins: do not resurrect the session.
        if (this.#tokens === current) this.setTokens(tokens);
        return tokens;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401 && this.#tokens === current) {
          this.setTokens(null);
          this.emit('session-lost', err);
        }
        throw err;
      } finally {
        this.#refreshing = null;
      }
    })();
    return this.#refreshing;
  }

  /** One API call; on 401 TOKEN_EXPIRED refreshes (single-flight) and retries once. */
  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    if (opts.auth === false) return this.#send<T>(method, path, opts);
    const token = await this.accessToken();
    try {
      return await this.#send<T>(method, path, opts, token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401 || err.code !== 'TOKEN_EXPIRED') throw err;
      // Another request may already have refreshed while this one was in flight.
      const fresh =
        this.#tokens && this.#tokens.accessToken !== token ? this.#tokens.accessToken : (await this.refresh()).accessToken;
      return this.#send<T>(method, path, opts, fresh);
    }
  }

  async #send<T>(method: string, path: string, opts: RequestOptions, token?: string): Promise<T> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
    } catch (err) {
      const e = err as Error;
      const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError';
      throw new ApiError(0, timedOut ? 'TIMEOUT' : 'NETWORK_ERROR', `${method} ${path}: ${e.message}`);
    }
    const requestId = res.headers.get('x-request-id') ?? undefined;
    const text = await res.text();
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    if (!res.ok) {
      const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
      throw new ApiError(
        res.status,
        typeof error?.code === 'string' ? error.code : codeForStatus(res.status),
        typeof error?.message === 'string' ? error.message : `${method} ${path} failed with ${res.status}`,
        error?.details,
        requestId,
      );
    }
    return body as T;
  }

  #loadTokens(): Tokens | null {
    const raw = this.#storage.getItem(TOKENS_KEY);
    if (!raw) return null;
    try {
      const t = JSON.parse(raw) as Partial<Tokens>;
      if (typeof t.accessToken === 'string' && typeof t.refreshToken === 'string' && typeof t.expiresAt === 'number')
        return { accessToken: t.accessToken, refreshToken: t.refreshToken, expiresAt: t.expiresAt };
    } catch {
      // corrupt entry: treat as signed out
    }
    this.#storage.removeItem(TOKENS_KEY);
    return null;
  }
}

/** A code for error responses without API.md's body (e.g. Nginx's own 502 page). */
function codeForStatus(status: number): string {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'RATE_LIMITED';
  if (status === 502 || status === 503) return 'UPSTREAM_UNAVAILABLE';
  if (status === 504) return 'UPSTREAM_TIMEOUT';
  if (status >= 500) return 'INTERNAL';
  return 'BAD_REQUEST';
}
