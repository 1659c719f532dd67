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
import { createFixedWindowLimiter, type FixedWindowLimiter, type RateDecision } from '@voip/kit/rate-limit';
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

// Counts a login attempt on all three windows only when none of them is full, in one atomic step: a
// refused attempt checks no password, so it must not count either (otherwise a guesser refused by the
// per-(username, address) limit would keep filling the per-username window and lock the owner out).
// Returns, per window, the count after the call and its remaining time to live.
const LOGIN_ATTEMPT = `
local full = false
for i = 1, #KEYS do
  if (tonumber(redis.call('GET', KEYS[i])) or 0) >= tonumber(ARGV[i]) then full = true end
end
local out = {}
for i = 1, #KEYS do
  local count
  if full then count = tonumber(redis.call('GET', KEYS[i])) or 0
  else
    count = redis.call('INCR', KEYS[i])
    redis.call('PEXPIRE', KEYS[i], ARGV[#KEYS + 1], 'NX')
  end
  out[#out + 1] = count
  out[#out + 1] = redis.call('PTTL', KEYS[i])
end
out[#out + 1] = full and 1 or 0
return out`;

// Takes one attempt back without reviving an expired window (a bare DECR would create a key with no TTL).
const FORGIVE = "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0";

export function createThrottles(redis: Redis, c: ThrottleConfig): Throttles {
  const loginWindow = c.LOGIN_WINDOW_SECONDS * 1000;
  const signupWindow = c.SIGNUP_WINDOW_SECONDS * 1000;
  const loginPair: FixedWindowLimiter = createFixedWindowLimiter(
    redis,
    SCOPES.loginPair,
    c.LOGIN_MAX_FAILURES_PER_USERNAME_IP,
    loginWindow,
  );
  // An address never contains a space, so the last space splits the pair again without ambiguity.
  const pair = (u: string, ip: string) => `${u} ${ip}`;
  const forgive = (scope: string, id: string) => redis.eval(FORGIVE, 1, keys.rateLimit(scope, id));
  const register = createFixedWindowLimiter(redis, SCOPES.register, c.REGISTER_MAX_PER_IP, signupWindow);
  const guest = createFixedWindowLimiter(redis, SCOPES.guest, c.GUEST_MAX_PER_IP, signupWindow);
  return {
    async loginAttempt(u, ip) {
      const limits = [
        c.LOGIN_MAX_FAILURES_PER_USERNAME_IP,
        c.LOGIN_MAX_FAILURES_PER_USERNAME,
        c.LOGIN_MAX_FAILURES_PER_IP,
      ];
      const res = (await redis.eval(
        LOGIN_ATTEMPT,
        3,
        keys.rateLimit(SCOPES.loginPair, pair(u, ip)),
        keys.rateLimit(SCOPES.loginUser, u),
        keys.rateLimit(SCOPES.loginIp, ip),
        ...limits,
        loginWindow,
      )) as number[];
      const refused = res[6] === 1;
      return limits.map((limit, i): RateDecision => {
        const count = Number(res[2 * i]);
        const full = refused && count >= limit;
        return {
          allowed: !full,
          remaining: Math.max(0, limit - count),
          retryAfterMs: full ? Math.max(Number(res[2 * i + 1]), 1) : 0,
        };
      });
    },
    // The owner proved the password from this address: its count starts again. The username and
    // address counts only take this attempt back, so failures from elsewhere still add up.
    async loginSucceeded(u, ip) {
      await Promise.all([
        loginPair.reset(pair(u, ip)),
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
