// Fixed-window counters in Redis for throttling (login attempts, socket connections per IP, …).
// One INCR + PEXPIRE per hit, in a pipeline; the answer says how long to wait when over the limit.
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';

export interface RateDecision {
  allowed: boolean;
  remaining: number;
  retryAfterMs: number;
}

export interface FixedWindowLimiter {
  hit(id: string): Promise<RateDecision>;
  peek(id: string): Promise<RateDecision>;
  reset(id: string): Promise<void>;
}

// All windows or none: counts the hit on every window only when none is full, in one step, and says per
// window the count and its remaining time. A refused hit counts nowhere.
const HIT_ALL_OR_NONE = `
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

export interface FixedWindow {
  scope: string;
  id: string;
  limit: number;
}

/**
 * One hit on several fixed windows of the same length, counted on all of them only when none is full
 * (for an attempt that is refused, and so costs nothing, and must not count either). Decisions in the
 * order of `windows`; a refusal names only the windows that are full.
 */
export async function hitAllOrNone(
  redis: Redis,
  windows: readonly FixedWindow[],
  windowMs: number,
): Promise<RateDecision[]> {
  const res = (await redis.eval(
    HIT_ALL_OR_NONE,
    windows.length,
    ...windows.map((w) => keys.rateLimit(w.scope, w.id)),
    ...windows.map((w) => w.limit),
    windowMs,
  )) as number[];
  const refused = res[2 * windows.length] === 1;
  return windows.map(({ limit }, i) => {
    const count = Number(res[2 * i]);
    const full = refused && count >= limit;
    return {
      allowed: !full,
      remaining: Math.max(0, limit - count),
      retryAfterMs: full ? Math.max(Number(res[2 * i + 1]), 1) : 0,
    };
  });
}

export function createFixedWindowLimiter(
  redis: Redis,
  scope: string,
  limit: number,
  windowMs: number,
): FixedWindowLimiter {
  const key = (id: string) => keys.rateLimit(scope, id);
  const decide = (count: number, ttl: number): RateDecision => ({
    allowed: count <= limit,
    remaining: Math.max(0, limit - count),
    retryAfterMs: count <= limit ? 0 : Math.max(ttl, 1),
  });
  return {
    async hit(id) {
      const res = await redis.multi().incr(key(id)).pexpire(key(id), windowMs, 'NX').pttl(key(id)).exec();
      const count = Number(res?.[0]?.[1] ?? 0);
      const ttl = Number(res?.[2]?.[1] ?? windowMs);
      return decide(count, ttl);
    },
    async peek(id) {
      const [count, ttl] = await Promise.all([redis.get(key(id)), redis.pttl(key(id))]);
      return decide(Number(count ?? 0), ttl);
    },
    async reset(id) {
      await redis.del(key(id));
    },
  };
}
