// The signaling service's configuration, read once from the environment. Defaults are documented with
// their reasons in the service README (ping tuning, limits, resume window).
import { baseConfigSpec, type ConfigOf, env, jwtVerifyConfigSpec, redisConfigSpec } from '@voip/kit/config';

const ms = (fallback: number, min = 0) => env.int(fallback, { min });

export const configSpec = {
  ...baseConfigSpec,
  PORT: env.port(3004),
  ...redisConfigSpec,
  ...jwtVerifyConfigSpec,

  // Calls and resume.
  RING_TIMEOUT_MS: ms(30_000, 100),
  RESUME_WINDOW_MS: ms(30_000, 100),
  /** How often each instance turns the shared ring-timeout and resume wheels. */
  WHEEL_INTERVAL_MS: ms(1000, 10),
  /**
   * Messages kept for one reconnecting client, in count and in bytes (their JSON); past either, its peer's
   * new messages are refused (RATE_LIMITED ack). The byte bound must hold one message of MAX_PAYLOAD_BYTES.
   */
  MAX_PENDING_MESSAGES: env.int(500, { min: 1 }),
  MAX_PENDING_BYTES: env.int(256 * 1024, { min: 1024 }),
  /** The caller's ICE candidates kept per ringing call for a callee device that connects later, in count and bytes. */
  MAX_CALL_CANDIDATES: env.int(100, { min: 1 }),
  MAX_CALL_CANDIDATE_BYTES: env.int(64 * 1024, { min: 1024 }),

  // Liveness (Socket.io ping/pong; see README "ping tuning").
  PING_INTERVAL_MS: ms(25_000, 100),
  PING_TIMEOUT_MS: ms(20_000, 100),
  /** An engine.io connection that has not sent an accepted Socket.io CONNECT by then is closed. */
  CONNECT_TIMEOUT_MS: ms(5000, 100),
  /** App-level heartbeat interval told to clients in `session`, and how often the guest manager checks. */
  HEARTBEAT_INTERVAL_MS: ms(30_000, 10),
  GUEST_PING_INTERVAL_MS: ms(60_000, 10),
  GUEST_MAX_MISSED_PINGS: env.int(3, { min: 1 }),
  GUEST_CONNECTION_TIMEOUT_MS: ms(180_000, 10),
  CLEANUP_INTERVAL_MS: ms(300_000, 10),
  /**
   * How often each instance re-checks its sockets' auth sessions in Redis (one pipelined EXISTS per
   * distinct session), so a revocation whose pub/sub message was lost closes the socket within this.
   */
  SESSION_SWEEP_INTERVAL_MS: ms(10_000, 100),

  // Instances.
  INSTANCE_HEARTBEAT_MS: ms(5000, 10),
  INSTANCE_TTL_MS: ms(15_000, 20),

  // Limits.
  MAX_PAYLOAD_BYTES: env.int(64 * 1024, { min: 1024, max: 16 * 1024 * 1024 }),
  MAX_CONNECTIONS: env.int(60_000, { min: 1 }),
  CONNECTIONS_PER_IP: env.int(60, { min: 1 }),
  /** Open engine.io connections per address that have not authenticated yet (per instance). */
  UNAUTHENTICATED_PER_IP: env.int(20, { min: 1 }),
  CONNECTIONS_PER_IP_WINDOW_MS: ms(60_000, 100),
  EVENTS_PER_SECOND: env.int(50, { min: 1 }),
  EVENT_BURST: env.int(100, { min: 1 }),
  /**
   * Events of one socket accepted and still waiting for their turn (they run one after another), in
   * count and in bytes of their strings; past either (Redis slow, say) new ones get RATE_LIMITED acks.
   */
  MAX_WAITING_EVENTS: env.int(100, { min: 1 }),
  MAX_WAITING_EVENT_BYTES: env.int(256 * 1024, { min: 1024 }),
  /** `call-quality`: at most one summary per call and socket in this time (a final one always passes once). */
  QUALITY_MIN_INTERVAL_MS: ms(1000),

  // Graceful shutdown.
  SHUTDOWN_DRAIN_MS: ms(5000),
  SHUTDOWN_RECONNECT_AFTER_MS: ms(500),
  SHUTDOWN_RECONNECT_JITTER_MS: ms(2000),
};
export type Config = ConfigOf<typeof configSpec>;
