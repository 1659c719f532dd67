// Guests clean up after themselves: every GUEST_SWEEP_INTERVAL_MS one auth instance (a claim in Redis)
// deletes the guests not seen for longer than a guest session lives (GUEST_REFRESH_TTL_SECONDS), through
// the same deleteGuests as the housekeeping routes: sessions revoked, guest.deleted announced (the user
// service then removes profiles, relations, devices, feeds, mirrors and presence), records deleted.
import { keys } from '@voip/contracts/redis-keys';
import { every } from '@voip/kit/periodic';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { deleteGuests, type GuestCleanupDeps } from './guest-cleanup.js';

export interface GuestSweeperOptions {
  redis: Redis;
  cleanup: GuestCleanupDeps;
  intervalMs: number;
  /** Guests last seen longer ago than this are deleted. */
  maxIdleMs: number;
  log: FastifyBaseLogger;
}

export interface GuestSweeper {
  /** One run now (claims the interval first); resolves to how many guests it deleted, null when another instance had the claim. */
  runOnce(): Promise<number | null>;
  stop(): Promise<void>;
}

export function startGuestSweeper({
  redis,
  cleanup,
  intervalMs,
  maxIdleMs,
  log,
}: GuestSweeperOptions): GuestSweeper {
  async function runOnce(): Promise<number | null> {
    // Slightly shorter than the interval, so the next tick of whichever instance can claim it again.
    const claimed = await redis.set(
      keys.jobClaim('guest-sweep'),
      '1',
      'PX',
      Math.max(1, intervalMs - 50),
      'NX',
    );
    if (claimed !== 'OK') return null;
    return deleteGuests(cleanup, { lastSeenBefore: new Date(Date.now() - maxIdleMs) }, log);
  }

  const sweeping = every({ name: 'guest sweep', intervalMs, log }, runOnce);
  return { runOnce, stop: () => sweeping.stop() };
}
