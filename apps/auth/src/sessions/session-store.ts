// Sessions in Redis (layout in @voip/contracts/redis-keys): keys.session(sid) exists while the session
// is valid (every service checks it), keys.refresh(hash) finds the session of the current refresh
// token, keys.refreshUsed(hash) remembers rotated tokens so re-use can be detected. A session remembers
// only its last `usedKept` rotated tokens (keys.sessionRefreshUsed lists them) and they go with it, so
// Redis does not grow with every refresh. A rotated token presented again within `graceMs` while its
// successor is still current is a retry whose answer was lost, not a replay: the store hands back the
// successor sealed with the old token (only its holder can open it).
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
  /** Rotated moments ago and its successor is still current: the same successor, sealed with the old token. */
  | { status: 'retried'; session: SessionRecord; sealedNext: string }
  /** Unknown, expired, or its session is gone. */
  | { status: 'invalid' };

export interface SessionStore {
  create(session: SessionRecord, refreshHash: string): Promise<void>;
  get(sid: string): Promise<SessionRecord | null>;
  /**
   * Swaps the session's refresh token hash atomically: of two calls with the same token, one rotates.
   * `sealedNext`: the new token sealed with the old one, kept for the grace window.
   */
  rotate(oldHash: string, newHash: string, sealedNext?: string): Promise<RotateResult>;
  /** Deletes the session and its current refresh token; null when it was already gone. */
  delete(sid: string): Promise<SessionRecord | null>;
  sessionIdsOf(userId: string): Promise<string[]>;
  /** Changes the kind of a live session; false (and nothing written) when it is gone. */
  setKind(sid: string, kind: PrincipalKind): Promise<boolean>;
}

// KEYS: refresh(old), refreshUsed(old), refresh(new), session(sid), sessionRefreshUsed(sid)
// ARGV: sid, oldHash, newHash, ttlSeconds (users), guestTtlSeconds, sealedNext, nowMs, usedKept, refreshUsed('')
// The list of a session's used-token keys is trimmed here to usedKept, deleting the keys that fall off
// (their names are built from the prefix in ARGV[9]: a single Redis, as everywhere in this backend).
const ROTATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {'moved'} end
if redis.call('HGET', KEYS[4], 'refreshHash') ~= ARGV[2] then
  redis.call('DEL', KEYS[1])
  return {'invalid'}
end
local ttl = ARGV[4]
if redis.call('HGET', KEYS[4], 'kind') == 'guest' then ttl = ARGV[5] end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], 'sid', ARGV[1], 'next', ARGV[3], 'sealed', ARGV[6], 'at', ARGV[7])
redis.call('EXPIRE', KEYS[2], ttl)
redis.call('SET', KEYS[3], ARGV[1], 'EX', ttl)
redis.call('HSET', KEYS[4], 'refreshHash', ARGV[3])
redis.call('EXPIRE', KEYS[4], ttl)
redis.call('LPUSH', KEYS[5], ARGV[2])
for _, h in ipairs(redis.call('LRANGE', KEYS[5], tonumber(ARGV[8]), -1)) do
  redis.call('DEL', ARGV[9] .. h)
end
redis.call('LTRIM', KEYS[5], 0, tonumber(ARGV[8]) - 1)
redis.call('EXPIRE', KEYS[5], ttl)
return {'rotated', unpack(redis.call('HGETALL', KEYS[4]))}
`;

// KEYS: session(sid), refresh(hash), userSessions(userId), sessionRefreshUsed(sid); ARGV: sid, hash,
// refreshUsed(''). Refuses (0) when the refresh hash moved on since it was read, so the caller reads
// again and no refresh key is left behind. The session's remembered used tokens go with it.
const DELETE = `
if redis.call('HGET', KEYS[1], 'refreshHash') ~= ARGV[2] then return 0 end
for _, h in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  redis.call('DEL', ARGV[3] .. h)
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[4])
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

export interface SessionStoreOptions {
  /** Idle lifetime of a session (each refresh starts it again). */
  ttlSeconds: number;
  /** The same for guest sessions (default: ttlSeconds). */
  guestTtlSeconds?: number;
  /** How long a rotated token may be presented again for the same successor (0: never). */
  graceMs?: number;
  /** How many rotated tokens per session are remembered for re-use detection. */
  usedKept?: number;
}

export function createSessionStore(
  redis: Redis,
  { ttlSeconds, guestTtlSeconds = ttlSeconds, graceMs = 0, usedKept = 10 }: SessionStoreOptions,
): SessionStore {
  const ttlFor = (kind: PrincipalKind) => (kind === 'guest' ? guestTtlSeconds : ttlSeconds);
  const usedPrefix = keys.refreshUsed('');
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
        .expire(keys.session(s.sid), ttlFor(s.kind))
        .set(keys.refresh(refreshHash), s.sid, 'EX', ttlFor(s.kind))
        .sadd(keys.userSessions(s.userId), s.sid)
        .expire(keys.userSessions(s.userId), ttlFor(s.kind), 'GT')
        .exec();
      // A new set has no TTL, so GT did not set one: give it this session's.
      await redis.expire(keys.userSessions(s.userId), ttlFor(s.kind), 'NX');
    },
    async get(sid) {
      return toRecord(sid, await redis.hgetall(keys.session(sid)));
    },
    async rotate(oldHash, newHash, sealedNext = '') {
      const sid = await redis.get(keys.refresh(oldHash));
      if (sid) {
        const res = (await rotateScript(
          [
            keys.refresh(oldHash),
            keys.refreshUsed(oldHash),
            keys.refresh(newHash),
            keys.session(sid),
            keys.sessionRefreshUsed(sid),
          ],
          [sid, oldHash, newHash, ttlSeconds, guestTtlSeconds, sealedNext, Date.now(), usedKept, usedPrefix],
        )) as string[];
        if (res[0] === 'rotated') {
          const session = toRecord(sid, pairsToHash(res.slice(1)));
          if (!session) return { status: 'invalid' };
          // The set of a user's sessions must outlive each session in it.
          await redis.expire(keys.userSessions(session.userId), ttlFor(session.kind), 'GT');
          return { status: 'rotated', session };
        }
        if (res[0] !== 'moved') return { status: 'invalid' };
        // Rotated by someone else meanwhile: it is a used token now.
      }
      const used = await redis.hgetall(keys.refreshUsed(oldHash));
      if (!used.sid) return { status: 'invalid' };
      if (graceMs > 0 && used.sealed && Date.now() - Number(used.at) <= graceMs) {
        const h = await redis.hgetall(keys.session(used.sid));
        const session = toRecord(used.sid, h);
        if (session && h.refreshHash === used.next)
          return { status: 'retried', session, sealedNext: used.sealed };
      }
      return { status: 'reused', sid: used.sid };
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
          [
            keys.session(sid),
            keys.refresh(h.refreshHash),
            keys.userSessions(session.userId),
            keys.sessionRefreshUsed(sid),
          ],
          [sid, h.refreshHash, usedPrefix],
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
