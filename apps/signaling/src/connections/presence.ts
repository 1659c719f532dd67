// Presence (online / busy / offline + lastSeenAt), derived from the user's devices and call pointer and
// kept in keys.presence for the user service to read. A change is pushed as `presence` to the sockets of
// keys.contactWatchers (the user service keeps there only contacts the user accepted: contacts both ways,
// not blocked), and published as presence.changed on the bus.
import type { Publisher } from '@voip/bus/pubsub';
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import type { PresenceStatus } from '@voip/contracts/users';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { luaScript } from '../realtime/lua-script.js';
import { userRoom } from '../realtime/rooms.js';
import type { SignalingServer } from '../realtime/types.js';

const RECOMPUTE = luaScript(`
local n = redis.call('HLEN', KEYS[2])
local status = 'offline'
if n > 0 then
  if redis.call('EXISTS', KEYS[3]) == 1 then status = 'busy' else status = 'online' end
end
local old = redis.call('HGET', KEYS[1], 'status')
local last = redis.call('HGET', KEYS[1], 'lastSeenAt')
if n > 0 or old ~= 'offline' or not last then last = ARGV[1] end
redis.call('HSET', KEYS[1], 'status', status, 'lastSeenAt', last)
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'kind', ARGV[2]) end
if old == status then return {0, status, last} end
return {1, status, last}
`);

export interface Presence {
  /** Recomputes a user's presence; tells watchers when it changed. */
  update(userId: string, kind?: PrincipalKind): Promise<PresenceStatus>;
  /** Forgets a user entirely (a deleted guest). */
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
      const [changed, status, lastSeenAt] = (await RECOMPUTE(
        redis,
        [keys.presence(userId), keys.userClients(userId), keys.userCall(userId)],
        [new Date().toISOString(), kind ?? ''],
      )) as [number, PresenceStatus, string];
      if (changed === 1) {
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
      await redis.del(keys.presence(userId), keys.userClients(userId));
    },
  };
}
