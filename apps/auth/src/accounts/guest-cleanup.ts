// Guest housekeeping: delete guests in batches, each batch revoking the guests' sessions first (so
// nobody keeps using an identity that is going away), then announcing guest.deleted, then deleting.
// Announcing before deleting means a failure leaves guests that a retry deletes (and announces again;
// consumers treat guest.deleted as idempotent), never deleted guests nobody heard of.
import type { FastifyBaseLogger } from 'fastify';
import type { SessionService } from '../sessions/session-service.js';
import type { AccountEvents } from './account-events.js';
import type { GuestRepository } from './guest-repository.js';

export const CLEANUP_BATCH = 500;

export interface GuestCleanupDeps {
  guests: GuestRepository;
  sessions: SessionService;
  events: AccountEvents;
}

async function deleteBatch(
  { guests, sessions, events }: GuestCleanupDeps,
  ids: string[],
  log: FastifyBaseLogger,
): Promise<number> {
  if (ids.length === 0) return 0;
  for (const id of ids) await sessions.revokeAllOf(id, 'guest-deleted', log);
  await events.guestsDeleted(ids);
  return guests.deleteByIds(ids);
}

export async function deleteGuest(
  deps: GuestCleanupDeps,
  guestId: string,
  log: FastifyBaseLogger,
): Promise<number> {
  const guest = await deps.guests.findById(guestId);
  return guest ? deleteBatch(deps, [guest.id], log) : 0;
}

/** Deletes every guest, or those not seen since `lastSeenBefore`. Returns how many were deleted. */
export async function deleteGuests(
  deps: GuestCleanupDeps,
  filter: { lastSeenBefore?: Date },
  log: FastifyBaseLogger,
  batchSize = CLEANUP_BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    const ids = await deps.guests.listIds({ ...filter, limit: batchSize });
    if (ids.length === 0) break;
    const deleted = await deleteBatch(deps, ids, log);
    total += deleted;
    // Nothing deleted means someone else removed them first; stop rather than loop on the same page.
    if (deleted === 0 || ids.length < batchSize) break;
  }
  log.info(
    { deleted: total, lastSeenBefore: filter.lastSeenBefore?.toISOString() ?? null },
    'guests deleted',
  );
  return total;
}
