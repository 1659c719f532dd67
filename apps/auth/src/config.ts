// The auth service's configuration, read once from the environment. Auth is the only service that
// holds the JWT private key; it verifies tokens with JWT_PUBLIC_KEY like every other service.
import { type ConfigOf, env, serviceConfigSpec } from '@voip/kit/config';

export const configSpec = {
  ...serviceConfigSpec(3001),
  /** PEM EC P-256 private key that signs access tokens (or a file holding it). */
  JWT_PRIVATE_KEY: env.optionalString(),
  JWT_PRIVATE_KEY_FILE: env.optionalString(),
  ACCESS_TTL_SECONDS: env.int(900, { min: 10, max: 24 * 3600 }),
  /** Lifetime of a refresh token and so of an idle session (each refresh starts it again). */
  REFRESH_TTL_SECONDS: env.int(30 * 24 * 3600, { min: 60, max: 365 * 24 * 3600 }),
  /** The same for guest sessions: a guest idle this long is gone (a guest is one visit, not an account). */
  GUEST_REFRESH_TTL_SECONDS: env.int(24 * 3600, { min: 60, max: 365 * 24 * 3600 }),
  /** How often one instance deletes guests idle longer than GUEST_REFRESH_TTL_SECONDS (0: never, leave it to the routes). */
  GUEST_SWEEP_INTERVAL_MS: env.int(10 * 60_000, { min: 0, max: 24 * 3600_000 }),
  /** A rotated refresh token presented again this soon, its successor unused, gets the same pair (0: off). */
  REFRESH_GRACE_SECONDS: env.int(20, { min: 0, max: 300 }),
  /** Rotated refresh tokens remembered per session for re-use detection (older ones are just invalid). */
  REFRESH_REUSE_MEMORY: env.int(10, { min: 1, max: 1000 }),
  /** No longer read (admins are granted by id: `pnpm admin grant <userId>`); set, it stops start-up. */
  ADMIN_USERNAMES: env.list([]),
  /** Failed logins for one username from one address: stops a guesser without locking the owner out. */
  LOGIN_MAX_FAILURES_PER_USERNAME_IP: env.int(10, { min: 1 }),
  /** Failed logins for one username from all addresses together: bounds distributed guessing. */
  LOGIN_MAX_FAILURES_PER_USERNAME: env.int(100, { min: 1 }),
  LOGIN_MAX_FAILURES_PER_IP: env.int(30, { min: 1 }),
  LOGIN_WINDOW_SECONDS: env.int(15 * 60, { min: 1 }),
  REGISTER_MAX_PER_IP: env.int(20, { min: 1 }),
  GUEST_MAX_PER_IP: env.int(30, { min: 1 }),
  /** Window of the register and guest-creation limits. */
  SIGNUP_WINDOW_SECONDS: env.int(3600, { min: 1 }),
};
export type Config = ConfigOf<typeof configSpec>;
