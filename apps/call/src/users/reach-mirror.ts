// Call set-up reads what it needs of the callee (exists, kind, display name, do-not-disturb, who may
// ring, whether the callee blocked the caller or has them as a contact) from the reach mirror the user
// service keeps in Redis (@voip/contracts/reach-mirror): one pipeline, no database. When the mirror is
// absent (never written, Redis lost it, a user that does not exist) or unreadable, the user service
// answers over HTTP from MongoDB, as before, and rebuilds the mirror beside its answer: a miss is never
// taken for "no such user".

import { reachFromMirror } from '@voip/contracts/reach-mirror';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import type { UserDirectory } from './user-directory.js';

export function withReachMirror(
  redis: Redis,
  directory: UserDirectory,
  onRead?: (result: 'hit' | 'miss') => void,
): UserDirectory {
  return {
    ...directory,
    async reachability(userId, callerId, signal) {
      const res = await redis
        .pipeline()
        .hgetall(keys.reach(userId))
        .sismember(keys.blocks(userId), callerId)
        .sismember(keys.contacts(userId), callerId)
        .exec();
      const [hash, blocked, contact] = (res ?? []).map(([err, value]) => (err ? undefined : value));
      const mirrored =
        res && res.every(([err]) => !err)
          ? reachFromMirror(hash as Record<string, string>, blocked === 1, contact === 1)
          : null;
      onRead?.(mirrored ? 'hit' : 'miss');
      return mirrored ?? directory.reachability(userId, callerId, signal);
    },
  };
}
