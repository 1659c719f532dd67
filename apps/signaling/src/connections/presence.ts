// Presence (online / busy / offline + lastSeenAt), derived from the user's devices and call pointer and
// kept in keys.presence for the user service to read. A change is pushed as `presence` to the sockets of
// keys.contactWatchers (the user service keeps there only contacts the user accepted: contacts both ways,
// not blocked), and published as presence.changed on the bus.
import type { Publisher } from '@voip/bus/pubsub';
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import type { PresenceStatus } from '@voip/contracts/users';
import { defineScript } from '@voip/kit/redis-script';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { userRoom } from '../realtime/rooms.js';
import type { SignalingServer } from '../realtime/types.js';

// Reads the device map's size (a reader, not an owner: the device registry writes it) and the user's call
// pointer (call-state's), in the same step as the write, so two instances never publish stale presence.
const RECOMPUTE = defineScript({
  name: 'recomputePresence',
  keys: ['presence', 'userClients', 'userCall'],
  args: ['now', 'kind'],
  lua: `
local n = redis.call('HLEN', K.userClients)
local status = 'offline'
if n > 0 then
  if redis.call('EXISTS', K.userCall) == 1 then status = 'busy' else status = 'online' end
end
local old = redis.call('HGET', K.presence, 'status')
local last = redis.call('HGET', K.presence, 'lastSeenAt')
if n > 0 or old ~= 'offline' or not last then last = A.now end
redis.call('HSET', K.presence, 'status', status, 'lastSeenAt', last)
if A.kind ~= '' then redis.call('HSET', K.presence, 'kind', A.kind) end
if old == status then return {0, status, last} end
return {1, status, last}
`,
  decode: (reply) => {
    const [changed, status, lastSeenAt] = reply as [number, PresenceStatus, string];
    return { changed: changed === 1, status, lastSeenAt };
  },
});

export interface Presence {
  /** Recomputes a user's presence; tells watchers when it changed. */
  update(userId: string, kind?: PrincipalKind): Promise<PresenceStatus>;
  /** Forgets a user's presence (a deleted guest; the device registry forgets its devices). */
  forget(userId: string): Promise<void>;
}

export function createPresence(
  io: SignalingServer,
  redis: Redis,
  bus: Publisher,
  log: FastifyBaseLogger,
): Presence {
  return {
    async update(userId, kind) {
      const { changed, status, lastSeenAt } = await RECOMPUTE.run(redis, {
        presence: keys.presence(userId),
        userClients: keys.userClients(userId),
        userCall: keys.userCall(userId),
        now: new Date().toISOString(),
        kind: kind ?? '',
      });
      if (changed) {
        const watchers = await redis.smembers(keys.contactWatchers(userId));
        // One emit per watcher's room: the sharded adapter sends a single-room emit only to the instances
        // holding that room, but a multi-room one to its base channel, i.e. to every instance.
        for (const w of watchers) io.to(userRoom(w)).emit('presence', { userId, status, lastSeenAt });
        bus
          .publish('presence.changed', { userId, ...(kind ? { kind } : {}), status, lastSeenAt })
          .catch((err: unknown) => {
            log.warn({ err, userId }, 'presence.changed not published');
          });
      }
      return status;
    },
    async forget(userId) {
      await redis.del(keys.presence(userId));
    },
  };
}
