// The reach mirror: what call initiation needs of a user (exists, kind, display name, do-not-disturb,
// who may ring, whom the user blocked, whom the user has as contacts), in Redis so the call service's
// hot path reads no database (keys.reach, keys.blocks, keys.contacts; format in
// @voip/contracts/reach-mirror). MongoDB is the truth. After every change to one of those the user's
// mirror is rewritten whole from MongoDB in one MULTI (the hash last, so its presence means "complete"),
// then MongoDB is read again and the write repeated while it moved: whoever writes last checks after
// writing, so the mirror ends equal to the stored state, as with mirrorUntilStable.
// A missing mirror (a user from before this mirror existed, Redis lost its data, a failed write) is a
// miss for the reader, which asks this service over HTTP (/internal/users/:id/reachability); that route
// answers from MongoDB and rebuilds the mirror beside the answer (repairReachMirror). A user with no
// profile has no hash: a reader never sees "no such user" from the mirror, only from MongoDB.

import { reachMirrorFields } from '@voip/contracts/reach-mirror';
import { keys } from '@voip/contracts/redis-keys';
import type { UserDomain } from '../domain.js';
import { incomingCallsOf } from '../profiles/profile-view.js';

type Snapshot = { fields: Record<string, string> | null; blocks: string[]; contacts: string[] };

async function readSnapshot(domain: UserDomain, userId: string): Promise<Snapshot> {
  const [profile, blocks, contacts] = await Promise.all([
    domain.profiles.get(userId),
    domain.blocks.activeTargets(userId),
    domain.contacts.activeTargets(userId),
  ]);
  return {
    fields: profile
      ? reachMirrorFields({
          kind: profile.kind,
          displayName: profile.displayName,
          doNotDisturb: profile.doNotDisturb,
          incomingCalls: incomingCallsOf(profile),
        })
      : null,
    blocks: blocks.sort(),
    contacts: contacts.sort(),
  };
}

async function writeSnapshot(domain: UserDomain, userId: string, s: Snapshot): Promise<void> {
  const multi = domain.redis.multi().del(keys.reach(userId), keys.blocks(userId), keys.contacts(userId));
  if (s.fields) {
    if (s.blocks.length > 0) multi.sadd(keys.blocks(userId), ...s.blocks);
    if (s.contacts.length > 0) multi.sadd(keys.contacts(userId), ...s.contacts);
    multi.hset(keys.reach(userId), s.fields);
  }
  const res = await multi.exec();
  const failed = res?.find(([err]) => err);
  if (!res || failed) throw failed?.[0] ?? new Error('reach mirror transaction aborted');
}

/** Rewrites userId's reach mirror from MongoDB until a read after the write finds nothing moved. */
export async function refreshReachMirror(domain: UserDomain, userId: string, maxRounds = 5): Promise<void> {
  let snapshot = await readSnapshot(domain, userId);
  for (let round = 0; round < maxRounds; round++) {
    await writeSnapshot(domain, userId, snapshot);
    const now = await readSnapshot(domain, userId);
    if (JSON.stringify(now) === JSON.stringify(snapshot)) return;
    snapshot = now;
  }
  // Still moving: leave no hash, so readers ask MongoDB (through this service) until the next change.
  await domain.redis.del(keys.reach(userId));
  domain.log.warn({ userId }, 'reach mirror kept changing; removed, readers fall back to the user service');
}

/** Rebuilds the mirror when it is absent (after a reader's miss); never throws (logged). */
export function repairReachMirror(domain: UserDomain, userId: string): void {
  void (async () => {
    if ((await domain.redis.exists(keys.reach(userId))) === 1) return;
    await refreshReachMirror(domain, userId);
  })().catch((err: unknown) => domain.log.warn({ err, userId }, 'reach mirror repair failed'));
}
