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

export function createFixedWindowLimiter(redis: Redis, scope: string, limit: number, windowMs: number): FixedWindowLimiter {
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
