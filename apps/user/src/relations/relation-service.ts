// Adding and removing contacts and blocks. The owner's sync feed is the order of truth: a real change
// is appended there first, and the stored pair is then made equal to the newest change about it in
// the feed (reconcilePair), so the store and the feed agree even when requests on one pair race.
// Redis mirrors are then rewritten from the stored state (not from the request). Both steps check
// again after writing (no transactions, and FerretDB has no atomic conditional update either).
import { AppError } from '@voip/kit/errors';
import type { UserDomain } from '../domain.js';
import { refreshReachMirror } from '../mirrors/reach-mirror.js';
import type { ChangeRecord } from '../sync/change-log.js';
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

/**
 * owner receives contact's presence iff owner has contact as a contact, contact has accepted owner (has
 * owner as a contact too), and contact has not blocked owner. Adding someone alone shows you nothing:
 * presence goes only to people the user accepted.
 */
export async function refreshWatching(domain: UserDomain, ownerId: string, contactId: string): Promise<void> {
  const read = async () => {
    const [contact, accepted, block] = await Promise.all([
      domain.contacts.get(ownerId, contactId),
      domain.contacts.get(contactId, ownerId),
      domain.blocks.get(contactId, ownerId),
    ]);
    return contact?.active === true && accepted?.active === true && block?.active !== true;
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
  // The owner's contacts and blocks are part of what call set-up reads (keys.contacts, keys.blocks).
  await refreshReachMirror(domain, ownerId);
  if (kind === 'contact') {
    // Either side's contact decides both directions (presence flows only between mutual contacts).
    await refreshWatching(domain, ownerId, targetId);
    return refreshWatching(domain, targetId, ownerId);
  }
  const read = async () => (await domain.blocks.get(ownerId, targetId))?.active === true;
  if (!(await mirrorUntilStable(read, (v) => domain.mirrors.setBlocked(ownerId, targetId, v))))
    domain.log.warn({ ownerId, targetId }, 'block mirror kept changing; left as last read');
  // A block also stops the blocked person from seeing the blocker's presence.
  await refreshWatching(domain, targetId, ownerId);
}

/** The pair's state as a change about it says (the time it was made comes from its data). */
function stateOf(ownerId: string, targetId: string, change: ChangeRecord): RelationRecord {
  const data = (change.data ?? {}) as { addedAt?: string; blockedAt?: string };
  const made = change.op === 'upsert' ? (data.addedAt ?? data.blockedAt) : undefined;
  return {
    ownerId,
    targetId,
    active: change.op === 'upsert',
    since: made ? new Date(made) : change.at,
    seq: change.seq,
  };
}

/**
 * Makes the stored pair equal the newest change about it in the owner's feed, and reads both again
 * after each write: whoever writes last checks after writing, so the store ends equal to the feed.
 */
export async function reconcilePair(
  domain: UserDomain,
  kind: RelationKind,
  ownerId: string,
  targetId: string,
  maxRounds = 10,
): Promise<RelationRecord | null> {
  const repo = repoFor(domain, kind);
  let stored: RelationRecord | null = null;
  for (let round = 0; round < maxRounds; round++) {
    const [latest, current] = await Promise.all([
      domain.changes.latest(ownerId, kind, targetId),
      repo.get(ownerId, targetId),
    ]);
    stored = current;
    if (!latest || current?.seq === latest.seq) return current;
    await repo.put(stateOf(ownerId, targetId, latest));
  }
  domain.log.warn({ kind, ownerId, targetId }, 'relation kept changing while reconciling; left as last read');
  return stored;
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
  const [target, latest, stored] = await Promise.all([
    domain.profiles.get(targetId),
    domain.changes.latest(ownerId, kind, targetId),
    repo.get(ownerId, targetId),
  ]);
  // The feed is the truth: the store may lag it if a request died between the two writes.
  const current = latest ? stateOf(ownerId, targetId, latest) : stored;
  // Removing what is already gone stays fine after the other account disappeared; adding needs it.
  if (!target && (active || !current)) throw new AppError('USER_NOT_FOUND', 'no such user');
  if ((current?.active ?? false) === active) {
    if (latest && stored?.seq !== latest.seq) {
      await reconcilePair(domain, kind, ownerId, targetId);
      await refreshMirrors(domain, kind, ownerId, targetId);
    }
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
  const seq = await domain.changes.append(ownerId, {
    entity: kind,
    op: active ? 'upsert' : 'delete',
    id: targetId,
    ...(data ? { data } : {}),
  });
  const settled = await reconcilePair(domain, kind, ownerId, targetId);
  if (settled && settled.seq !== seq)
    domain.log.info(
      { kind, ownerId, targetId, seq, current: settled.seq },
      'relation change superseded by a newer one',
    );
  await refreshMirrors(domain, kind, ownerId, targetId);
  return { record: { ownerId, targetId, active, since: now, seq }, changed: true };
}
