// The call service's configuration, read once from the environment. Cross-field rules (TURN mode needs
// its secret, its Redis user db and the history consumer; FCM needs a project and a service account) are
// checked here too, so a bad combination stops the process at start-up with one line instead of failing
// the first call.
import {
  ConfigError,
  type ConfigOf,
  env,
  loadConfig,
  parseConfig,
  rateLimitConfigSpec,
  serviceConfigSpec,
  streamConsumerConfigSpec,
} from '@voip/kit/config';

export const configSpec = {
  ...serviceConfigSpec(3003),

  /** Base URL of the user service (reachability, devices, push-token clean-up). */
  USER_SERVICE_URL: env.url('http://127.0.0.1:3002', ['http', 'https']),
  /** A user service slower than this is treated as down (503), never waited on. */
  USER_SERVICE_TIMEOUT_MS: env.int(2000, { min: 50, max: 30_000 }),
  /**
   * The media service (issue 18): GET /api/calls/:id shows the call's recordings from it. Unset: no
   * recordings shown. It not answering within MEDIA_SERVICE_TIMEOUT_MS only leaves them out.
   */
  MEDIA_SERVICE_URL: env.optionalString(),
  MEDIA_SERVICE_TIMEOUT_MS: env.int(1000, { min: 50, max: 30_000 }),

  /** How long a call rings before it ends as no-answer. */
  RING_TIMEOUT_MS: env.int(30_000, { min: 1000, max: 10 * 60_000 }),
  /** How often this service ends calls past their ring deadline (0: leave it to signaling). */
  RING_SWEEP_INTERVAL_MS: env.int(1000, { min: 0, max: 60_000 }),
  /** Initiations per user per window (POST /api/calls): CALL_RATE_LIMIT, CALL_RATE_WINDOW_MS. */
  ...rateLimitConfigSpec('CALL', 20),
  /** Ring attempts and wake-up pushes per caller→callee pair, and per callee from callers it does not know. */
  RING_LIMIT_WINDOW_MS: env.int(600_000, { min: 1000 }),
  RING_LIMIT_PER_PAIR: env.int(10, { min: 1 }),
  RING_LIMIT_PER_CALLEE_FROM_STRANGERS: env.int(20, { min: 1 }),
  PUSH_LIMIT_PER_PAIR: env.int(5, { min: 1 }),
  PUSH_LIMIT_PER_CALLEE_FROM_STRANGERS: env.int(10, { min: 1 }),

  /** History consumer (group "call-history" on the call-events stream). */
  HISTORY_CONSUMER_ENABLED: env.bool(true),
  /** HISTORY_BLOCK_MS, HISTORY_CLAIM_IDLE_MS, HISTORY_MAX_DELIVERIES and the outage back-off (kit). */
  ...streamConsumerConfigSpec('HISTORY'),
  /** Consumers of the group per instance (database writes in flight at once; entries of one call may be handled out of order, which every write tolerates). */
  HISTORY_CONSUMERS: env.int(1, { min: 1, max: 64 }),

  /** Wake-up pushes for callees with no connected device. */
  PUSH_PROVIDER: env.oneOf(['log', 'fcm', 'none'] as const, 'log'),
  /** Per request to the provider. */
  PUSH_TIMEOUT_MS: env.int(5000, { min: 50, max: 60_000 }),
  PUSH_MAX_ATTEMPTS: env.int(3, { min: 1, max: 10 }),
  PUSH_RETRY_BASE_MS: env.int(250, { min: 1, max: 60_000 }),
  PUSH_RETRY_MAX_MS: env.int(4000, { min: 1, max: 600_000 }),
  /** Consecutive endpoint failures that open the circuit, and how long it stays open. */
  PUSH_BREAKER_THRESHOLD: env.int(5, { min: 1, max: 1000 }),
  PUSH_BREAKER_COOLDOWN_MS: env.int(30_000, { min: 10, max: 3_600_000 }),
  /** Firebase project id (PUSH_PROVIDER=fcm). */
  FCM_PROJECT_ID: env.optionalString(),
  /** Service-account JSON (inline) or a path to it. */
  FCM_SERVICE_ACCOUNT_JSON: env.optionalString(),
  FCM_SERVICE_ACCOUNT_FILE: env.optionalString(),
  FCM_BASE_URL: env.url('https://fcm.googleapis.com', ['http', 'https']),
  /** Overrides the service account's token_uri (tests point it at a local stand-in). */
  FCM_TOKEN_URL: env.optionalString(),

  /** `rest`: coturn REST-API credentials; `call-scoped`: per-call users in coturn's Redis user db. */
  TURN_MODE: env.oneOf(['rest', 'call-scoped'] as const, 'rest'),
  STUN_URLS: env.list([]),
  /** turn: URLs (UDP and TCP) handed out with credentials. */
  TURN_URLS: env.list([]),
  /**
   * turns: URLs (TURN over TLS, e.g. turns:turn.example.com:5349?transport=tcp, or :443 where coturn
   * owns that port) in the same entry: for networks that let only TLS out. Host must match coturn's cert.
   */
  TURNS_URLS: env.list([]),
  TURN_REALM: env.string('voip.local'),
  /** coturn's static-auth-secret (rest), or the key call-scoped passwords are derived with. */
  TURN_SECRET: env.optionalString(),
  TURN_TTL_SECONDS: env.int(3600, { min: 60, max: 7 * 24 * 3600 }),
  /** coturn's redis-userdb as a URL with its database number: redis://127.0.0.1:6379/2 (call-scoped). */
  TURN_REDIS_URL: env.optionalString(),
};
export type Config = ConfigOf<typeof configSpec>;

/** The rules between variables that a single field cannot express. Throws ConfigError. */
export function checkConfig(config: Config): Config {
  const badTurn = config.TURN_URLS.find((u) => !/^turns?:/.test(u));
  if (badTurn) throw new ConfigError('TURN_URLS', `must hold turn: URLs, got "${badTurn}"`);
  const badTurns = config.TURNS_URLS.find((u) => !u.startsWith('turns:'));
  if (badTurns) throw new ConfigError('TURNS_URLS', `must hold turns: URLs, got "${badTurns}"`);
  if (config.TURNS_URLS.length > 0 && config.TURN_URLS.length === 0)
    throw new ConfigError('TURNS_URLS', 'needs TURN_URLS too (turns: is the fallback, not the only way)');
  if (config.TURN_URLS.length > 0) {
    if (!config.TURN_SECRET) throw new ConfigError('TURN_SECRET', 'is required when TURN_URLS is set');
    if (config.TURN_SECRET.length < 16)
      throw new ConfigError('TURN_SECRET', 'must be at least 16 characters');
    if (config.TURN_MODE === 'call-scoped') {
      if (!config.TURN_REDIS_URL)
        throw new ConfigError('TURN_REDIS_URL', 'is required when TURN_MODE=call-scoped');
      if (!/^rediss?:\/\/[^/]+\/\d+$/.test(config.TURN_REDIS_URL))
        throw new ConfigError(
          'TURN_REDIS_URL',
          'must be a redis:// URL ending in the database number coturn reads, e.g. /2',
        );
      // Call-scoped users are deleted when the history consumer takes call.ended, nowhere else: without
      // it they would work until TURN_TTL_SECONDS, long after the call.
      if (!config.HISTORY_CONSUMER_ENABLED)
        throw new ConfigError(
          'HISTORY_CONSUMER_ENABLED',
          'must not be false when TURN_MODE=call-scoped: the history consumer is what revokes call-scoped TURN users at call end',
        );
    }
  }
  if (config.PUSH_PROVIDER === 'fcm') {
    if (!config.FCM_PROJECT_ID) throw new ConfigError('FCM_PROJECT_ID', 'is required when PUSH_PROVIDER=fcm');
    if (!config.FCM_SERVICE_ACCOUNT_JSON && !config.FCM_SERVICE_ACCOUNT_FILE)
      throw new ConfigError(
        'FCM_SERVICE_ACCOUNT_JSON',
        'or FCM_SERVICE_ACCOUNT_FILE is required when PUSH_PROVIDER=fcm',
      );
  }
  if (config.PUSH_RETRY_MAX_MS < config.PUSH_RETRY_BASE_MS)
    throw new ConfigError('PUSH_RETRY_MAX_MS', 'must not be below PUSH_RETRY_BASE_MS');
  return config;
}

/** For tests: parse and check, throwing ConfigError. */
export const parseCallConfig = (source: NodeJS.ProcessEnv): Config => parseConfig(configSpec, source, checkConfig);

/** For the entry point: a bad variable prints one line and exits 1. */
export const loadCallConfig = (source: NodeJS.ProcessEnv = process.env): Config =>
  loadConfig(configSpec, source, checkConfig);
