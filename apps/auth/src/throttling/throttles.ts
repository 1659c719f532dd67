// Throttling of the doors that cost us (argon2) or let someone guess: login per username and address, per
// username, and per address; register and guest creation per address. Fixed windows in Redis, so every
// instance counts together.
//
// Login has three limits so that a stranger cannot lock someone out by failing on purpose: the tight one
// is per (username, address), so the guesser is stopped while the owner, from elsewhere, still signs in;
// the per-username limit is an order of magnitude higher and only a guesser spread over many addresses
// reaches it (each of which the per-address limit also bounds).
import { keys } from '@voip/contracts/redis-keys';
import { AppError } from '@voip/kit/errors';
import { createFixedWindowLimiter, hitAllOrNone, type RateDecision } from '@voip/kit/rate-limit';
import { defineScript } from '@voip/kit/redis-script';
import type { FastifyReply } from 'fastify';
import type { Redis } from 'ioredis';

export interface ThrottleConfig {
  LOGIN_MAX_FAILURES_PER_USERNAME_IP: number;
  LOGIN_MAX_FAILURES_PER_USERNAME: number;
  LOGIN_MAX_FAILURES_PER_IP: number;
  LOGIN_WINDOW_SECONDS: number;
  REGISTER_MAX_PER_IP: number;
  GUEST_MAX_PER_IP: number;
  SIGNUP_WINDOW_SECONDS: number;
}

export interface Throttles {
  /**
   * Counts a login attempt before the password is checked (so parallel guesses cannot slip past the
   * limit); a successful login then takes its attempt back, so only failures accumulate. Decisions in
   * the order: per username and address, per username, per address.
   */
  loginAttempt(usernameLower: string, ip: string): Promise<RateDecision[]>;
  loginSucceeded(usernameLower: string, ip: string): Promise<void>;
  register(ip: string): Promise<RateDecision>;
  guest(ip: string): Promise<RateDecision>;
}

const SCOPES = {
  loginPair: 'login-user-ip',
  loginUser: 'login-user',
  loginIp: 'login-ip',
  register: 'register-ip',
  guest: 'guest-ip',
} as const;

// Takes one attempt back without reviving an expired window (a bare DECR would create a key with no TTL).
const FORGIVE = defineScript({
  name: 'forgiveHit',
  keys: ['window'],
  args: [],
  lua: "if redis.call('EXISTS', K.window) == 1 then return redis.call('DECR', K.window) end return 0",
  decode: () => undefined,
});

export function createThrottles(redis: Redis, c: ThrottleConfig): Throttles {
  const loginWindow = c.LOGIN_WINDOW_SECONDS * 1000;
  const signupWindow = c.SIGNUP_WINDOW_SECONDS * 1000;
  // An address never contains a space, so the last space splits the pair again without ambiguity.
  const pair = (u: string, ip: string) => `${u} ${ip}`;
  const forgive = (scope: string, id: string) => FORGIVE.run(redis, { window: keys.rateLimit(scope, id) });
  const register = createFixedWindowLimiter(redis, SCOPES.register, c.REGISTER_MAX_PER_IP, signupWindow);
  const guest = createFixedWindowLimiter(redis, SCOPES.guest, c.GUEST_MAX_PER_IP, signupWindow);
  return {
    // All three windows or none: a refused attempt checks no password and must not count either, or a
    // guesser stopped by the (username, address) limit would go on filling the username's window.
    loginAttempt: (u, ip) =>
      hitAllOrNone(
        redis,
        [
          { scope: SCOPES.loginPair, id: pair(u, ip), limit: c.LOGIN_MAX_FAILURES_PER_USERNAME_IP },
          { scope: SCOPES.loginUser, id: u, limit: c.LOGIN_MAX_FAILURES_PER_USERNAME },
          { scope: SCOPES.loginIp, id: ip, limit: c.LOGIN_MAX_FAILURES_PER_IP },
        ],
        loginWindow,
      ),
    // The owner proved the password from this address: its count starts again. The username and
    // address counts only take this attempt back, so failures from elsewhere still add up.
    async loginSucceeded(u, ip) {
      await Promise.all([
        redis.del(keys.rateLimit(SCOPES.loginPair, pair(u, ip))),
        forgive(SCOPES.loginUser, u),
        forgive(SCOPES.loginIp, ip),
      ]);
    },
    register: (ip) => register.hit(ip),
    guest: (ip) => guest.hit(ip),
  };
}

/** Whole seconds for Retry-After, never 0 while the limit holds. */
export function retryAfterSeconds(decisions: readonly RateDecision[]): number {
  const ms = Math.max(0, ...decisions.filter((d) => !d.allowed).map((d) => d.retryAfterMs));
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Throws 429 RATE_LIMITED with Retry-After when any decision is over its limit. */
export function enforce(reply: FastifyReply, decisions: readonly RateDecision[], message: string): void {
  if (decisions.every((d) => d.allowed)) return;
  const seconds = retryAfterSeconds(decisions);
  reply.header('retry-after', String(seconds));
  throw new AppError('RATE_LIMITED', message, { retryAfterSeconds: seconds });
}
