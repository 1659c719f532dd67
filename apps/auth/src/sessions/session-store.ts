// Sessions in Redis (layout in @voip/contracts/redis-keys): keys.session(sid) exists while the session
// is valid (every service checks it), keys.refresh(hash) finds the session of the current refresh
// token, keys.refreshUsed(hash) remembers rotated tokens so re-use can be detected.
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { redisScript } from './redis-script.js';

export interface SessionRecord {
  sid: string;
  userId: string;
  kind: PrincipalKind;
  displayName: string;
  createdAt: string;
}

export type RotateResult =
  | { status: 'rotated'; session: SessionRecord }
  /** The token was rotated before: someone holds a copy. */
  | { status: 'reused'; sid: string }
  /** Unknown, expired, or its session is gone. */
  | { status: 'invalid' };

export interface SessionStore {
  create(session: SessionRecord, refreshHash: string): Promise<void>;
  get(sid: string): Promise<SessionRecord | null>;
  /** Swaps the session's refresh token hash atomically: of two calls with the same token, one rotates. */
  rotate(oldHash: string, newHash: string): Promise<RotateResult>;
  /** Deletes the session and its current refresh token; null when it was already gone. */
  delete(sid: string): Promise<SessionRecord | null>;
  sessionIdsOf(userId: string): Promise<string[]>;
  /** Changes the kind of a live session; false (and nothing written) when it is gone. */
  setKind(sid: string, kind: PrincipalKind): Promise<boolean>;
}

// KEYS: refresh(old), refreshUsed(old), refresh(new), session(sid); ARGV: sid, oldHash, newHash, ttlSeconds
const ROTATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  local used = redis.call('GET', KEYS[2])
  if used then return {'reused', used} end
  return {'invalid'}
end
if redis.call('HGET', KEYS[4], 'refreshHash') ~= ARGV[2] then
  redis.call('DEL', KEYS[1])
  return {'invalid'}
end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
redis.call('SET', KEYS[3], ARGV[1], 'EX', ARGV[4])
redis.call('HSET', KEYS[4], 'refreshHash', ARGV[3])
redis.call('EXPIRE', KEYS[4], ARGV[4])
return {'rotated', unpack(redis.call('HGETALL', KEYS[4]))}
`;

// KEYS: session(sid), refresh(hash), userSessions(userId); ARGV: sid, hash. Refuses (0) when the
// refresh hash moved on since it was read, so the caller reads again and no refresh key is left behind.
const DELETE = `
if redis.call('HGET', KEYS[1], 'refreshHash') ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return 1
`;

// KEYS: session(sid); ARGV: kind. A bare HSET on a revoked session would bring it back to life.
const SET_KIND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'kind', ARGV[1])
return 1
`;

const KINDS: ReadonlySet<string> = new Set(['user', 'guest', 'admin']);

function toRecord(sid: string, h: Record<string, string>): SessionRecord | null {
  if (!h.userId || !h.kind || !KINDS.has(h.kind)) return null;
  return {
    sid,
    userId: h.userId,
    kind: h.kind as PrincipalKind,
    displayName: h.displayName ?? '',
    createdAt: h.createdAt ?? '',
  };
}

function pairsToHash(flat: string[]): Record<string, string> {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
  return h;
}

export function createSessionStore(redis: Redis, { ttlSeconds }: { ttlSeconds: number }): SessionStore {
  const rotateScript = redisScript(redis, ROTATE);
  const deleteScript = redisScript(redis, DELETE);
  const setKindScript = redisScript(redis, SET_KIND);
  const store: SessionStore = {
    async create(s, refreshHash) {
      await redis
        .multi()
        .hset(keys.session(s.sid), {
          userId: s.userId,
          kind: s.kind,
          displayName: s.displayName,
          createdAt: s.createdAt,
          refreshHash,
        })
        .expire(keys.session(s.sid), ttlSeconds)
        .set(keys.refresh(refreshHash), s.sid, 'EX', ttlSeconds)
        .sadd(keys.userSessions(s.userId), s.sid)
        .expire(keys.userSessions(s.userId), ttlSeconds)
        .exec();
    },
    async get(sid) {
      return toRecord(sid, await redis.hgetall(keys.session(sid)));
    },
    async rotate(oldHash, newHash) {
      const sid = await redis.get(keys.refresh(oldHash));
      if (!sid) {
        const used = await redis.get(keys.refreshUsed(oldHash));
        return used ? { status: 'reused', sid: used } : { status: 'invalid' };
      }
      const res = (await rotateScript(
        [keys.refresh(oldHash), keys.refreshUsed(oldHash), keys.refresh(newHash), keys.session(sid)],
        [sid, oldHash, newHash, ttlSeconds],
      )) as string[];
      if (res[0] === 'reused' && res[1]) return { status: 'reused', sid: res[1] };
      if (res[0] !== 'rotated') return { status: 'invalid' };
      const session = toRecord(sid, pairsToHash(res.slice(1)));
      if (!session) return { status: 'invalid' };
      // The set of a user's sessions must outlive each session in it.
      await redis.expire(keys.userSessions(session.userId), ttlSeconds);
      return { status: 'rotated', session };
    },
    async delete(sid) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const h = await redis.hgetall(keys.session(sid));
        const session = toRecord(sid, h);
        if (!session || !h.refreshHash) {
          if (Object.keys(h).length > 0) await redis.del(keys.session(sid));
          return null;
        }
        const deleted = await deleteScript(
          [keys.session(sid), keys.refresh(h.refreshHash), keys.userSessions(session.userId)],
          [sid, h.refreshHash],
        );
        if (deleted === 1) return session;
      }
      throw new Error(`session ${sid} kept changing while being deleted`);
    },
    async sessionIdsOf(userId) {
      return redis.smembers(keys.userSessions(userId));
    },
    async setKind(sid, kind) {
      return (await setKindScript([keys.session(sid)], [kind])) === 1;
    },
  };
  return store;
}
