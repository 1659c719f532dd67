// Fixed-window counters in Redis for throttling (login attempts, socket connections per IP, …).
// One INCR + PEXPIRE per hit, in a pipeline; the answer says how long to wait when over the limit.
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { defineScript } from './redis-script.js';

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
const HIT_ALL_OR_NONE = defineScript({
  name: 'hitAllOrNone',
  keys: ['windows[]'],
  args: ['windowMs', 'limits[]'],
  lua: `
local full = false
for i, w in ipairs(K.windows) do
  if (tonumber(redis.call('GET', w)) or 0) >= tonumber(A.limits[i]) then full = true end
end
local out = {}
for _, w in ipairs(K.windows) do
  local count
  if full then count = tonumber(redis.call('GET', w)) or 0
  else
    count = redis.call('INCR', w)
    redis.call('PEXPIRE', w, A.windowMs, 'NX')
  end
  out[#out + 1] = count
  out[#out + 1] = redis.call('PTTL', w)
end
out[#out + 1] = full and 1 or 0
return out`,
  decode: (reply) => {
    const flat = (reply as number[]).map(Number);
    const windows: { count: number; ttlMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2)
      windows.push({ count: flat[i] ?? 0, ttlMs: flat[i + 1] ?? 0 });
    return { windows, refused: flat[flat.length - 1] === 1 };
  },
});

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
  const { windows: counted, refused } = await HIT_ALL_OR_NONE.run(redis, {
    windows: windows.map((w) => keys.rateLimit(w.scope, w.id)),
    limits: windows.map((w) => w.limit),
    windowMs,
  });
  return windows.map(({ limit }, i) => {
    const { count, ttlMs } = counted[i] ?? { count: 0, ttlMs: 0 };
    const full = refused && count >= limit;
    return {
      allowed: !full,
      remaining: Math.max(0, limit - count),
      retryAfterMs: full ? Math.max(ttlMs, 1) : 0,
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
