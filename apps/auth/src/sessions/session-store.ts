// Sessions in Redis (layout in @voip/contracts/redis-keys): keys.session(sid) exists while the session
// is valid (every service checks it), keys.refresh(hash) finds the session of the current refresh
// token, keys.refreshUsed(hash) remembers rotated tokens so re-use can be detected. A session remembers
// only its last `usedKept` rotated tokens (keys.sessionRefreshUsed lists them) and they go with it, so
// Redis does not grow with every refresh. A rotated token presented again within `graceMs` while its
// successor is still current is a retry whose answer was lost, not a replay: the store hands back the
// successor sealed with the old token (only its holder can open it).
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import { defineScript, HSET_IF_EXISTS } from '@voip/kit/redis-script';
import type { Redis } from 'ioredis';

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

// The list of a session's used-token keys is trimmed here to usedKept, deleting the keys that fall off
// (their names are built from usedPrefix: a single Redis, as everywhere in this backend). 'moved': the
// refresh key no longer names this session; 'invalid': the session's hash moved on.
const ROTATE = defineScript({
  name: 'rotateRefresh',
  keys: ['oldRefresh', 'oldUsed', 'newRefresh', 'session', 'sessionUsed'],
  args: [
    'sid',
    'oldHash',
    'newHash',
    'ttlSeconds',
    'guestTtlSeconds',
    'sealedNext',
    'nowMs',
    'usedKept',
    'usedPrefix',
  ],
  lua: `
if redis.call('GET', K.oldRefresh) ~= A.sid then return {'moved'} end
if redis.call('HGET', K.session, 'refreshHash') ~= A.oldHash then
  redis.call('DEL', K.oldRefresh)
  return {'invalid'}
end
local ttl = A.ttlSeconds
if redis.call('HGET', K.session, 'kind') == 'guest' then ttl = A.guestTtlSeconds end
redis.call('DEL', K.oldRefresh)
redis.call('HSET', K.oldUsed, 'sid', A.sid, 'next', A.newHash, 'sealed', A.sealedNext, 'at', A.nowMs)
redis.call('EXPIRE', K.oldUsed, ttl)
redis.call('SET', K.newRefresh, A.sid, 'EX', ttl)
redis.call('HSET', K.session, 'refreshHash', A.newHash)
redis.call('EXPIRE', K.session, ttl)
redis.call('LPUSH', K.sessionUsed, A.oldHash)
for _, h in ipairs(redis.call('LRANGE', K.sessionUsed, tonumber(A.usedKept), -1)) do
  redis.call('DEL', A.usedPrefix .. h)
end
redis.call('LTRIM', K.sessionUsed, 0, tonumber(A.usedKept) - 1)
redis.call('EXPIRE', K.sessionUsed, ttl)
return {'rotated', unpack(redis.call('HGETALL', K.session))}
`,
  decode: (reply) => {
    const [status, ...flat] = reply as string[];
    return { status: status as 'moved' | 'invalid' | 'rotated', hash: pairsToHash(flat) };
  },
});

// Refuses (false) when the refresh hash moved on since it was read, so the caller reads again and no
// refresh key is left behind. The session's remembered used tokens go with it.
const DELETE = defineScript({
  name: 'deleteSession',
  keys: ['session', 'refresh', 'userSessions', 'sessionUsed'],
  args: ['sid', 'refreshHash', 'usedPrefix'],
  lua: `
if redis.call('HGET', K.session, 'refreshHash') ~= A.refreshHash then return 0 end
for _, h in ipairs(redis.call('LRANGE', K.sessionUsed, 0, -1)) do
  redis.call('DEL', A.usedPrefix .. h)
end
redis.call('DEL', K.session, K.refresh, K.sessionUsed)
redis.call('SREM', K.userSessions, A.sid)
return 1
`,
  decode: (reply) => reply === 1,
});

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
        const res = await ROTATE.run(redis, {
          oldRefresh: keys.refresh(oldHash),
          oldUsed: keys.refreshUsed(oldHash),
          newRefresh: keys.refresh(newHash),
          session: keys.session(sid),
          sessionUsed: keys.sessionRefreshUsed(sid),
          sid,
          oldHash,
          newHash,
          ttlSeconds,
          guestTtlSeconds,
          sealedNext,
          nowMs: Date.now(),
          usedKept,
          usedPrefix,
        });
        if (res.status === 'rotated') {
          const session = toRecord(sid, res.hash);
          if (!session) return { status: 'invalid' };
          // The set of a user's sessions must outlive each session in it.
          await redis.expire(keys.userSessions(session.userId), ttlFor(session.kind), 'GT');
          return { status: 'rotated', session };
        }
        if (res.status !== 'moved') return { status: 'invalid' };
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
        const deleted = await DELETE.run(redis, {
          session: keys.session(sid),
          refresh: keys.refresh(h.refreshHash),
          userSessions: keys.userSessions(session.userId),
          sessionUsed: keys.sessionRefreshUsed(sid),
          sid,
          refreshHash: h.refreshHash,
          usedPrefix,
        });
        if (deleted) return session;
      }
      throw new Error(`session ${sid} kept changing while being deleted`);
    },
    async sessionIdsOf(userId) {
      return redis.smembers(keys.userSessions(userId));
    },
    async setKind(sid, kind) {
      // A bare HSET on a revoked session would bring it back to life.
      return HSET_IF_EXISTS.run(redis, { hash: keys.session(sid), field: 'kind', value: kind });
    },
  };
  return store;
}
