// Removing guest accounts from the user service: profiles, contacts and blocks in both directions
// (telling the other side's sync feed), devices, the guests' own feeds, and their Redis mirrors.
// Used for `guest.deleted` from auth and for the housekeeping endpoints.
import type { UserDomain } from '../domain.js';

const BATCH = 200;

/** Removes the given guests (ids that are not guests are left alone); resolves to profiles removed. */
export async function removeGuests(domain: UserDomain, ids: readonly string[]): Promise<number> {
  let removed = 0;
  for (let i = 0; i < ids.length; i += BATCH)
    removed += await removeBatch(domain, [...new Set(ids.slice(i, i + BATCH))]);
  return removed;
}

async function removeBatch(domain: UserDomain, candidates: string[]): Promise<number> {
  const keep = await domain.profiles.nonGuestIds(candidates);
  const ids = candidates.filter((id) => !keep.has(id));
  if (keep.size > 0) domain.log.warn({ ids: [...keep] }, 'refusing to remove non-guest accounts as guests');
  if (ids.length === 0) return 0;
  const gone = new Set(ids);
  const [contacts, blocks] = await Promise.all([
    domain.contacts.activeInvolving(ids),
    domain.blocks.activeInvolving(ids),
  ]);

  // Others who had a removed guest as a contact, or blocked one, learn of it through their feed.
  for (const c of contacts)
    if (!gone.has(c.ownerId))
      await domain.changes.append(c.ownerId, { entity: 'contact', op: 'delete', id: c.targetId });
  for (const b of blocks)
    if (!gone.has(b.ownerId))
      await domain.changes.append(b.ownerId, { entity: 'block', op: 'delete', id: b.targetId });

  await domain.mirrors.forget(ids, {
    watching: contacts.filter((c) => gone.has(c.ownerId)).map((c) => [c.ownerId, c.targetId]),
    blockedBy: blocks.filter((b) => !gone.has(b.ownerId)).map((b) => [b.ownerId, b.targetId]),
  });
  await Promise.all([
    domain.contacts.deleteInvolving(ids),
    domain.blocks.deleteInvolving(ids),
    domain.devices.removeUsers(ids),
    domain.changes.deleteUsers(ids),
  ]);
  const deleted = await domain.profiles.deleteMany(ids);
  // After the profiles: a reach-mirror refresh that raced the removal may have written a hash from
  // before it. Gone now, and a later refresh finds no profile and writes none.
  await domain.mirrors.forgetReach(
    ids,
    contacts.filter((c) => !gone.has(c.ownerId)).map((c) => [c.ownerId, c.targetId]),
  );
  return deleted;
}

/** Housekeeping: removes every guest created before `before` (every guest when null). */
export async function cleanupGuests(domain: UserDomain, before: Date | null): Promise<number> {
  let deleted = 0;
  for (;;) {
    const ids = await domain.profiles.guestIds(before, BATCH);
    if (ids.length === 0) return deleted;
    const n = await removeBatch(domain, ids);
    deleted += n;
    // Defensive: if nothing could be removed the same ids would come back forever.
    if (n === 0) return deleted;
  }
}
