// Is this session (the `sid` of an access token) still valid? One Redis EXISTS at most per sid, with
// a short cache; revocations seen on the bus (or made locally) drop the cache entry at once.
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';

export interface SessionChecker {
  isActive(sid: string): Promise<boolean>;
  /** Forget what we know of sid (call on session.revoked). */
  invalidate(sid: string): void;
}

export function createSessionChecker(redis: Redis, { cacheMs = 2000, maxEntries = 50_000 } = {}): SessionChecker {
  const cache = new Map<string, { active: boolean; until: number }>();
  return {
    async isActive(sid) {
      const now = Date.now();
      const hit = cache.get(sid);
      if (hit && hit.until > now) return hit.active;
      const active = (await redis.exists(keys.session(sid))) === 1;
      if (cache.size >= maxEntries) cache.clear();
      // A revoked session never comes back, so "inactive" can be cached longer.
      cache.set(sid, { active, until: now + (active ? cacheMs : cacheMs * 30) });
      return active;
    },
    invalidate(sid) {
      cache.set(sid, { active: false, until: Date.now() + cacheMs * 30 });
    },
  };
}
