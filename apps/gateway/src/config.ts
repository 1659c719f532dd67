// The gateway service's configuration, read once from the environment.
import {
  baseConfigSpec,
  ConfigError,
  type ConfigOf,
  env,
  type Field,
  jwtVerifyConfigSpec,
  redisConfigSpec,
} from '@voip/kit/config';

/** Comma-separated http(s) base URLs; a bad entry stops start-up with one line naming the variable. */
export const upstreamList = (fallback: string): Field<string[]> => ({
  describe: 'comma-separated http(s) base URLs',
  parse(raw, name) {
    const list = env.list([fallback]).parse(raw, name);
    if (list.length === 0) throw new ConfigError(name, 'needs at least one URL');
    for (const entry of list) {
      let url: URL;
      try {
        url = new URL(entry);
      } catch {
        throw new ConfigError(name, `has "${entry}", which is not a URL`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new ConfigError(name, `has "${entry}": only http(s) upstreams`);
    }
    return list;
  },
});

export const configSpec = {
  ...baseConfigSpec,
  PORT: env.port(3000),
  ...redisConfigSpec,
  ...jwtVerifyConfigSpec,
  /** Base URLs of each service's instances, comma-separated; paths are forwarded unchanged. */
  AUTH_UPSTREAMS: upstreamList('http://127.0.0.1:3001'),
  USER_UPSTREAMS: upstreamList('http://127.0.0.1:3002'),
  CALL_UPSTREAMS: upstreamList('http://127.0.0.1:3003'),
  /** The media service (issue 18: recordings). */
  MEDIA_UPSTREAMS: upstreamList('http://127.0.0.1:3010'),
  /** No answer headers from an upstream within this long → 504 UPSTREAM_TIMEOUT. */
  UPSTREAM_TIMEOUT_MS: env.int(10_000, { min: 100 }),
  /** TCP connect time-out to an upstream; past it the upstream counts as down. */
  UPSTREAM_CONNECT_TIMEOUT_MS: env.int(2_000, { min: 50 }),
  /** How often each upstream's /ready is probed, and how long a probe may take. */
  HEALTH_CHECK_INTERVAL_MS: env.int(2_000, { min: 50 }),
  HEALTH_CHECK_TIMEOUT_MS: env.int(1_000, { min: 50 }),
  /** How long a verified access token skips the signature check (capped by its expiry; 0 = off). */
  TOKEN_CACHE_MS: env.int(5_000, { min: 0 }),
  /** Most verified tokens remembered (least recently used evicted). */
  TOKEN_CACHE_MAX_ENTRIES: env.int(10_000, { min: 1 }),
  /** Browser origins allowed by CORS (comma-separated, `*` for any); empty = same-origin only. */
  CORS_ORIGINS: env.list([]),
  /** Authenticated requests, counted per user id. */
  RATE_LIMIT_USER_MAX: env.int(600, { min: 1 }),
  /** Anonymous requests (refresh, docs, failed logins), counted per client IP. */
  RATE_LIMIT_ANON_MAX: env.int(120, { min: 1 }),
  /** POST /api/auth/register, /login, /guest: counted per client IP, much stricter. */
  RATE_LIMIT_CREDENTIALS_MAX: env.int(20, { min: 1 }),
  RATE_LIMIT_WINDOW_MS: env.int(60_000, { min: 100 }),
  /** Requests with a bad or missing token, per IP: past this the answer is 429, not 401. */
  RATE_LIMIT_AUTH_FAILURES_MAX: env.int(60, { min: 1 }),
};
export type Config = ConfigOf<typeof configSpec>;
