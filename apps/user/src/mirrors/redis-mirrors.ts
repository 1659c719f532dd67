// What the user service mirrors into Redis for the hot paths of other services (keys in
// @voip/contracts/redis-keys): who watches whose presence (signaling), who blocked whom and who is on
// do-not-disturb (call set-up). MongoDB is the truth; every write here is derived from its state.
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';

export interface RedisMirrors {
  setDoNotDisturb(userId: string, on: boolean): Promise<void>;
  /** ownerId receives contactId's presence (has them as a contact, and is not blocked by them). */
  setWatching(ownerId: string, contactId: string, watching: boolean): Promise<void>;
  setBlocked(ownerId: string, blockedId: string, blocked: boolean): Promise<void>;
  /** Removes removed accounts' reach mirrors (keys.reach, keys.contacts) and their place in others' contact sets. */
  forgetReach(userIds: string[], contactOf: Array<[ownerId: string, contactId: string]>): Promise<void>;
  /** Forgets removed accounts: their own keys and their membership in others' sets. */
  forget(
    userIds: string[],
    memberships: {
      watching: Array<[ownerId: string, contactId: string]>;
      blockedBy: Array<[ownerId: string, blockedId: string]>;
    },
  ): Promise<void>;
}

export function createRedisMirrors(redis: Redis): RedisMirrors {
  return {
    async setDoNotDisturb(userId, on) {
      if (on) await redis.set(keys.dnd(userId), '1');
      else await redis.del(keys.dnd(userId));
    },
    async setWatching(ownerId, contactId, watching) {
      if (watching) await redis.sadd(keys.contactWatchers(contactId), ownerId);
      else await redis.srem(keys.contactWatchers(contactId), ownerId);
    },
    async setBlocked(ownerId, blockedId, blocked) {
      if (blocked) await redis.sadd(keys.blocks(ownerId), blockedId);
      else await redis.srem(keys.blocks(ownerId), blockedId);
    },
    async forgetReach(userIds, contactOf) {
      if (userIds.length === 0 && contactOf.length === 0) return;
      const pipe = redis.pipeline();
      for (const id of userIds) pipe.del(keys.reach(id), keys.contacts(id), keys.blocks(id));
      for (const [ownerId, contactId] of contactOf) pipe.srem(keys.contacts(ownerId), contactId);
      const results = (await pipe.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    },
    async forget(userIds, { watching, blockedBy }) {
      if (userIds.length === 0 && watching.length === 0 && blockedBy.length === 0) return;
      const pipe = redis.pipeline();
      // The presence hash is signaling's, but a removed account's is only stale data: it goes too.
      for (const id of userIds)
        pipe.del(keys.contactWatchers(id), keys.blocks(id), keys.dnd(id), keys.presence(id));
      for (const [ownerId, contactId] of watching) pipe.srem(keys.contactWatchers(contactId), ownerId);
      for (const [ownerId, blockedId] of blockedBy) pipe.srem(keys.blocks(ownerId), blockedId);
      const results = (await pipe.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
    },
  };
}
