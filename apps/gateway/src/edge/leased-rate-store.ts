// A @fastify/rate-limit store whose counters live in Redis, so every gateway instance spends one
// shared budget per key, without a Redis command per request (that was a tenth of the gateway's
// CPU, plus Redis's): an instance leases a slice of a key's remaining budget with one INCRBY and
// hands it out locally, asking Redis again only when the slice is spent.
//
// Trade-off: a unit leased by one instance and not yet used is unavailable to the others, so across
// instances a key may be refused a little before `max` (never after: leases only come out of what
// Redis says is left). Slices are at most 1/LEASE_DIVISOR of what is left, so they shrink to one
// request near the limit, where the count is then exact.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';

export interface LeasedStoreOptions {
  redis: Redis;
  /** Redis key prefix (the store's key is appended). */
  prefix: string;
  /** The largest slice one claim takes. */
  maxLease?: number;
  /** A claim takes at most this fraction of what is left in the window (1/divisor). */
  leaseDivisor?: number;
  /** Told about every claim sent to Redis (metrics, tests). */
  onClaim?: () => void;
  now?: () => number;
}

interface Lease {
  /** The unit (1-based count in the window) the next request gets. */
  next: number;
  /** The last unit of the current slice; next > last means the slice is spent. */
  last: number;
  /** The key's count in Redis after the last claim (every instance's claims). */
  total: number;
  /** Local time the Redis window ends (from its PTTL). */
  windowEnd: number;
  claiming: Promise<void> | null;
}

type IncrCallback = Parameters<FastifyRateLimitStore['incr']>[1];

export const DEFAULT_MAX_LEASE = 64;
export const DEFAULT_LEASE_DIVISOR = 8;

/** How large a slice to claim, given what this instance last saw of the key's count. */
export function leaseSize(max: number, knownTotal: number, maxLease: number, divisor: number): number {
  return Math.max(1, Math.min(maxLease, Math.floor((max - knownTotal) / divisor)));
}

/** The store class @fastify/rate-limit instantiates (it passes only its own options to the constructor). */
export function leasedRateStore(opts: LeasedStoreOptions): FastifyRateLimitStoreCtor {
  const { redis, maxLease = DEFAULT_MAX_LEASE, leaseDivisor = DEFAULT_LEASE_DIVISOR, now = Date.now } = opts;
  const leases = new Map<string, Lease>();
  let lastSweep = now();

  // Leases of ended windows are dropped, at most once per window, so the map holds the keys seen
  // in the current window only.
  const sweep = (t: number, windowMs: number) => {
    if (t - lastSweep < windowMs) return;
    lastSweep = t;
    for (const [k, l] of leases) if (l.windowEnd <= t && !l.claiming) leases.delete(k);
  };

  const claim = (key: string, lease: Lease, windowMs: number, max: number) => {
    const size = leaseSize(max, lease.total, maxLease, leaseDivisor);
    opts.onClaim?.();
    lease.claiming = redis
      .multi()
      .incrby(key, size)
      .pexpire(key, windowMs, 'NX')
      .pttl(key)
      .exec()
      .then((res) => {
        const failed = res?.find(([err]) => err)?.[0];
        if (!res || failed) throw failed ?? new Error('rate-limit claim: transaction aborted');
        const total = Number(res[0]?.[1]);
        const ttl = Number(res[2]?.[1]);
        const before = total - size;
        lease.next = before + 1;
        lease.last = before + Math.max(0, Math.min(size, max - before));
        lease.total = total;
        lease.windowEnd = now() + (ttl > 0 ? ttl : windowMs);
      })
      .finally(() => {
        lease.claiming = null;
      });
    return lease.claiming;
  };

  const incr = (key: string, cb: IncrCallback, windowMs: number, max: number): void => {
    const t = now();
    let lease = leases.get(key);
    if (lease && !lease.claiming && lease.windowEnd <= t) {
      leases.delete(key);
      lease = undefined;
    }
    if (!lease) {
      sweep(t, windowMs);
      lease = { next: 1, last: 0, total: 0, windowEnd: 0, claiming: null };
      leases.set(key, lease);
    } else if (!lease.claiming) {
      if (lease.next <= lease.last) {
        cb(null, { current: lease.next++, ttl: lease.windowEnd - t });
        return;
      }
      // Slice spent and Redis said nothing is left: refused until the window ends, without asking.
      if (lease.total >= max) {
        cb(null, { current: max + 1, ttl: lease.windowEnd - t });
        return;
      }
    }
    (lease.claiming ?? claim(key, lease, windowMs, max)).then(
      () => incr(key, cb, windowMs, max),
      (err: Error) => cb(err),
    );
  };

  return class LeasedRateStore implements FastifyRateLimitStore {
    readonly prefix: string;
    // The plugin calls `new Store(itsOptions)`; children carry a longer prefix.
    constructor(_pluginOptions?: unknown, prefix = opts.prefix) {
      this.prefix = prefix;
    }
    incr(key: string, cb: IncrCallback, windowMs: number, max: number) {
      incr(this.prefix + key, cb, windowMs, max);
    }
    // Per-route budgets (a route's own `config.rateLimit`) count under their own keys, as the Redis store does.
    child(route: { method: string | string[]; url: string }): FastifyRateLimitStore {
      return new LeasedRateStore(undefined, `${this.prefix}${String(route.method)}${route.url}-`);
    }
  };
}
