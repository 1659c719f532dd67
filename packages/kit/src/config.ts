// Configuration is read once, at start-up, from the environment into a typed object. A missing or
// invalid variable stops the process with one line naming it (see loadConfig).
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`config: ${variable} ${problem}`);
  }
}

export interface Field<T> {
  parse(raw: string | undefined, name: string): T;
  describe: string;
}
export type Spec = Record<string, Field<unknown>>;
export type ConfigOf<S extends Spec> = { readonly [K in keyof S]: S[K] extends Field<infer T> ? T : never };

/**
 * .env.example's secrets are placeholders starting with `change-me` (infra/docker/init-secrets.sh
 * replaces them with random ones). A service given one — the whole value, or the password of a URL
 * (REDIS_PASSWORD inside REDIS_URL) — refuses to start rather than run with a secret anyone can read.
 */
export const PLACEHOLDER_PREFIX = 'change-me';

function placeholderProblem(raw: string): string | undefined {
  const hint = `from .env.example; set a real secret (infra/docker/init-secrets.sh writes random ones)`;
  const isPlaceholder = (v: string) => v.trim().toLowerCase().startsWith(PLACEHOLDER_PREFIX);
  if (isPlaceholder(raw)) return `is the example placeholder (${PLACEHOLDER_PREFIX}…) ${hint}`;
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) return undefined;
  try {
    const url = new URL(raw);
    if (isPlaceholder(decodeURIComponent(url.password)) || isPlaceholder(decodeURIComponent(url.username)))
      return `has the example placeholder (${PLACEHOLDER_PREFIX}…) as its credentials ${hint}`;
  } catch {
    /* not a URL: the field's own parser says so */
  }
  return undefined;
}

/** Every field's first step on a set value: a known placeholder secret is refused, naming the variable. */
function refusePlaceholder(raw: string, name: string): void {
  const problem = placeholderProblem(raw);
  if (problem) throw new ConfigError(name, problem);
}

function field<T>(
  describe: string,
  fallback: T | undefined,
  conv: (raw: string, name: string) => T,
): Field<T> {
  return {
    describe,
    parse(raw, name) {
      if (raw === undefined || raw === '') {
        if (fallback === undefined) throw new ConfigError(name, 'is required but not set');
        return fallback;
      }
      refusePlaceholder(raw, name);
      return conv(raw, name);
    },
  };
}

export const env = {
  string: (fallback?: string) => field<string>('string', fallback, (r) => r),
  optionalString: () =>
    ({
      describe: 'string',
      parse: (raw: string | undefined, name: string) => {
        if (raw === undefined || raw === '') return undefined;
        refusePlaceholder(raw, name);
        return raw;
      },
    }) as Field<string | undefined>,
  int: (fallback?: number, { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {}) =>
    field<number>('integer', fallback, (r, n) => {
      const v = Number(r);
      if (!Number.isInteger(v) || v < min || v > max)
        throw new ConfigError(n, `must be an integer in [${min}, ${max}], got "${r}"`);
      return v;
    }),
  port: (fallback?: number) => env.int(fallback, { min: 0, max: 65535 }),
  bool: (fallback?: boolean) =>
    field<boolean>('boolean', fallback, (r, n) => {
      if (/^(1|true|yes|on)$/i.test(r)) return true;
      if (/^(0|false|no|off)$/i.test(r)) return false;
      throw new ConfigError(n, `must be true or false, got "${r}"`);
    }),
  url: (fallback?: string, protocols?: string[]) =>
    field<string>('url', fallback, (r, n) => {
      let u: URL;
      try {
        u = new URL(r);
      } catch {
        throw new ConfigError(n, 'must be a URL');
      }
      if (protocols && !protocols.includes(u.protocol.replace(/:$/, '')))
        throw new ConfigError(n, `must use one of ${protocols.join(', ')}`);
      return r;
    }),
  list: (fallback?: string[]) =>
    field<string[]>('comma-separated list', fallback, (r) =>
      r
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  oneOf: <T extends string>(values: readonly T[], fallback?: T) =>
    field<T>(`one of ${values.join('|')}`, fallback, (r, n) => {
      if (!(values as readonly string[]).includes(r))
        throw new ConfigError(n, `must be one of ${values.join(', ')}, got "${r}"`);
      return r as T;
    }),
  /** A secret: never printed. At least `minLength` characters. */
  secret: (minLength = 16, fallback?: string) =>
    field<string>('secret', fallback, (r, n) => {
      if (r.length < minLength) throw new ConfigError(n, `must be at least ${minLength} characters`);
      return r;
    }),
};

/**
 * Parses `source` against `spec`, then `check` (the rules between variables a single field cannot
 * express); throws ConfigError naming the first bad variable.
 */
export function parseConfig<S extends Spec>(
  spec: S,
  source: NodeJS.ProcessEnv = process.env,
  check: (config: ConfigOf<S>) => ConfigOf<S> = (config) => config,
): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(spec)) out[name] = f.parse(source[name], name);
  return check(Object.freeze(out) as ConfigOf<S>);
}

/** A ConfigError at a process entry point prints its one line and exits 1; anything else is rethrown. */
function exitIfConfigError(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

/** parseConfig for a process entry point: a bad variable prints one line and exits 1. */
export function loadConfig<S extends Spec>(
  spec: S,
  source: NodeJS.ProcessEnv = process.env,
  check?: (config: ConfigOf<S>) => ConfigOf<S>,
): ConfigOf<S> {
  try {
    return parseConfig(spec, source, check);
  } catch (err) {
    return exitIfConfigError(err);
  }
}

/** Variables every service reads. Service configs spread this and add their own. */
export const baseConfigSpec = {
  HOST: env.string('127.0.0.1'),
  LOG_LEVEL: env.oneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
  BODY_LIMIT_BYTES: env.int(64 * 1024, { min: 1024, max: 10 * 1024 * 1024 }),
  TRUST_PROXY: env.string('127.0.0.1/8,::1/128'),
  SHUTDOWN_GRACE_MS: env.int(10_000, { min: 0 }),
  INSTANCE_ID: env.optionalString(),
};
export const redisConfigSpec = { REDIS_URL: env.url('redis://127.0.0.1:6379', ['redis', 'rediss']) };
export const mongoConfigSpec = { MONGODB_URI: env.url(undefined, ['mongodb', 'mongodb+srv']) };
/**
 * Stream consumers while a dependency (MongoDB, Redis) is away: they pause and retry the entry in hand
 * after STREAM_OUTAGE_RETRY_MS, doubling up to STREAM_OUTAGE_RETRY_MAX_MS (±25% jitter), spending no
 * deliveries; only entries that fail on a healthy dependency are dead-lettered.
 */
export const streamOutageConfigSpec = {
  STREAM_OUTAGE_RETRY_MS: env.int(500, { min: 10, max: 60_000 }),
  STREAM_OUTAGE_RETRY_MAX_MS: env.int(30_000, { min: 10, max: 10 * 60_000 }),
};
/**
 * A Redis-stream consumer group's knobs, named `<prefix>_…`: how long one XREADGROUP blocks, how long a
 * pending entry stays idle before another consumer claims it (a dead or failing one), and how many
 * deliveries that fail on a healthy database an entry gets before it is dead-lettered. With the outage
 * back-off above, which every consumer shares.
 */
export function streamConsumerConfigSpec<P extends string>(prefix: P) {
  const spec = {
    [`${prefix}_BLOCK_MS`]: env.int(5000, { min: 10, max: 60_000 }),
    [`${prefix}_CLAIM_IDLE_MS`]: env.int(30_000, { min: 10 }),
    [`${prefix}_MAX_DELIVERIES`]: env.int(5, { min: 1, max: 100 }),
  } as { [K in `${P}_BLOCK_MS` | `${P}_CLAIM_IDLE_MS` | `${P}_MAX_DELIVERIES`]: Field<number> };
  return { ...spec, ...streamOutageConfigSpec };
}
/**
 * A per-principal fixed-window limit (kit's rate-limit.ts): `<prefix>_RATE_LIMIT` requests per
 * `<prefix>_RATE_WINDOW_MS` (a minute unless the service says otherwise).
 */
export function rateLimitConfigSpec<P extends string>(prefix: P, limit: number, windowMs = 60_000) {
  return {
    [`${prefix}_RATE_LIMIT`]: env.int(limit, { min: 1 }),
    [`${prefix}_RATE_WINDOW_MS`]: env.int(windowMs, { min: 1000 }),
  } as { [K in `${P}_RATE_LIMIT` | `${P}_RATE_WINDOW_MS`]: Field<number> };
}
export const jwtVerifyConfigSpec = {
  /** PEM public key(s); several separated by blank lines during a key rotation. Or *_FILE. */
  JWT_PUBLIC_KEY: env.optionalString(),
  JWT_PUBLIC_KEY_FILE: env.optionalString(),
  INTERNAL_TOKEN: env.secret(24),
};
/**
 * What a service with its own database reads first (auth, user, call, media): the base variables, its
 * PORT, Redis, MongoDB and token verification. Spread it and add the service's own.
 */
export function serviceConfigSpec(defaultPort: number) {
  return {
    ...baseConfigSpec,
    PORT: env.port(defaultPort),
    ...redisConfigSpec,
    ...mongoConfigSpec,
    ...jwtVerifyConfigSpec,
  };
}

/**
 * For a process entry point: awaits what builds the app and, when a ConfigError surfaces only then (a key
 * that does not parse, a variable that depends on another), prints its one line and exits 1 as loadConfig.
 */
export async function exitOnConfigError<T>(building: Promise<T>): Promise<T> {
  try {
    return await building;
  } catch (err) {
    return exitIfConfigError(err);
  }
}
