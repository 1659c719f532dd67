// Adding and removing contacts and blocks. Each real change is first appended to the owner's sync
// feed, which hands out its sequence number, and then applied to MongoDB guarded by that number, so
// the stored state always equals the last change in the feed even when two requests on the same
// pair race. Redis mirrors are then rewritten from the stored state (not from the request).
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

/** Contact owner→contact is watched (presence flows) iff it is active and contact has not blocked owner. */
export async function refreshWatching(domain: UserDomain, ownerId: string, contactId: string): Promise<void> {
  const [contact, block] = await Promise.all([
    domain.contacts.get(ownerId, contactId),
    domain.blocks.get(contactId, ownerId),
  ]);
  await domain.mirrors.setWatching(ownerId, contactId, contact?.active === true && block?.active !== true);
}

async function refreshMirrors(
  domain: UserDomain,
  kind: RelationKind,
  ownerId: string,
  targetId: string,
): Promise<void> {
  if (kind === 'contact') return refreshWatching(domain, ownerId, targetId);
  const block = await domain.blocks.get(ownerId, targetId);
  await domain.mirrors.setBlocked(ownerId, targetId, block?.active === true);
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
