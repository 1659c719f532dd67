// Adding and removing contacts and blocks. Each real change is first appended to the owner's sync
// feed, which hands out its sequence number, and then applied to MongoDB guarded by that number, so
// the stored state always equals the last change in the feed even when two requests on the same
// pair race. Redis mirrors are then rewritten from the stored state (not from the request), and
// checked again after the write (see mirrorUntilStable).
import { AppError } from '@voip/kit/errors';
import type { UserDomain } from '../domain.js';
import type { RelationRecord } from './relation-repository.js';

export type RelationKind = 'contact' | 'block';

export interface RelationResult {
  record: RelationRecord;
  changed: boolean;
}

const repoFor = (domain: UserDomain, kind: RelationKind) =>
  kind === 'contact' ? domain.contacts : domain.blocks;

/**
 * Writes a mirror from MongoDB's state, then reads the state again and repeats while it moved.
 * Two racing requests may write their reads in the wrong order, but whoever writes last checks
 * after writing, so the mirror ends equal to the stored state.
 */
export async function mirrorUntilStable(
  read: () => Promise<boolean>,
  write: (value: boolean) => Promise<void>,
  maxRounds = 10,
): Promise<boolean> {
  let value = await read();
  for (let round = 0; round < maxRounds; round++) {
    await write(value);
    const now = await read();
    if (now === value) return true;
    value = now;
  }
  return false;
}

/** Contact owner→contact is watched (presence flows) iff it is active and contact has not blocked owner. */
export async function refreshWatching(domain: UserDomain, ownerId: string, contactId: string): Promise<void> {
  const read = async () => {
    const [contact, block] = await Promise.all([
      domain.contacts.get(ownerId, contactId),
      domain.blocks.get(contactId, ownerId),
    ]);
    return contact?.active === true && block?.active !== true;
  };
  if (!(await mirrorUntilStable(read, (v) => domain.mirrors.setWatching(ownerId, contactId, v))))
    domain.log.warn({ ownerId, contactId }, 'contact watcher mirror kept changing; left as last read');
}

async function refreshMirrors(
  domain: UserDomain,
  kind: RelationKind,
  ownerId: string,
  targetId: string,
): Promise<void> {
  if (kind === 'contact') return refreshWatching(domain, ownerId, targetId);
  const read = async () => (await domain.blocks.get(ownerId, targetId))?.active === true;
  if (!(await mirrorUntilStable(read, (v) => domain.mirrors.setBlocked(ownerId, targetId, v))))
    domain.log.warn({ ownerId, targetId }, 'block mirror kept changing; left as last read');
  // A block also stops the blocked person from seeing the blocker's presence.
  await refreshWatching(domain, targetId, ownerId);
}

export async function setRelation(
  domain: UserDomain,
  kind: RelationKind,
  ownerId: string,
  targetId: string,
  active: boolean,
): Promise<RelationResult> {
  if (ownerId === targetId)
    throw new AppError('BAD_REQUEST', `you cannot ${active ? 'add' : 'remove'} yourself as a ${kind}`);
  const repo = repoFor(domain, kind);
  const [target, current] = await Promise.all([domain.profiles.get(targetId), repo.get(ownerId, targetId)]);
  // Removing what is already gone stays fine after the other account disappeared; adding needs it.
  if (!target && (active || !current)) throw new AppError('USER_NOT_FOUND', 'no such user');
  if ((current?.active ?? false) === active) {
    const record = current ?? { ownerId, targetId, active, since: new Date(), seq: 0 };
    return { record, changed: false };
  }
  if (active && kind === 'contact' && (await repo.countActive(ownerId)) >= domain.limits.maxContacts)
    throw new AppError('CONFLICT', `at most ${domain.limits.maxContacts} contacts`);

  const now = new Date();
  const data = !active
    ? undefined
    : kind === 'contact'
      ? { userId: targetId, displayName: target?.displayName ?? '', addedAt: now.toISOString() }
      : { userId: targetId, blockedAt: now.toISOString() };
  const seq = await domain.changes.append(
    ownerId,
    { entity: kind, op: active ? 'upsert' : 'delete', id: targetId, ...(data ? { data } : {}) },
    now,
  );
  const record: RelationRecord = { ownerId, targetId, active, since: now, seq };
  const applied = await repo.apply(record);
  if (!applied)
    domain.log.info({ kind, ownerId, targetId, seq }, 'relation change superseded by a newer one');
  await refreshMirrors(domain, kind, ownerId, targetId);
  return { record, changed: true };
}
