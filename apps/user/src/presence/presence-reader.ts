// Presence as the signaling service keeps it in Redis (keys.presence(userId): hash status,
// lastSeenAt), read for many users in one pipeline. Presence is shown only to the user and to the people
// it has accepted (keys.contactWatchers: contacts both ways, not blocked); to anyone else the answer is
// "offline, never seen", as it is for anything missing or unreadable, never an error.
import { keys } from '@voip/contracts/redis-keys';
import type { Presence, PresenceStatus } from '@voip/contracts/users';
import type { Redis } from 'ioredis';

const STATUSES = new Set<string>(['online', 'busy', 'offline']);
export const OFFLINE: Presence = { status: 'offline', lastSeenAt: null };

/** Turns the raw hash fields into the API shape; lastSeenAt may be stored as ISO text or epoch ms. */
export function normalizePresence(
  status: string | null | undefined,
  lastSeenAt: string | null | undefined,
): Presence {
  const s: PresenceStatus = status && STATUSES.has(status) ? (status as PresenceStatus) : 'offline';
  let seen: string | null = null;
  if (lastSeenAt) {
    const ms = /^\d{1,15}$/.test(lastSeenAt) ? Number(lastSeenAt) : Date.parse(lastSeenAt);
    if (Number.isFinite(ms)) seen = new Date(ms).toISOString();
  }
  return { status: s, lastSeenAt: seen };
}

/** Presence of every id (deduplicated) as `viewerId` may see it, and whether the viewer may see it at all. */
export async function readPresence(
  redis: Redis,
  ids: readonly string[],
  viewerId: string | null,
): Promise<Map<string, Presence>> {
  const seen = await readPresenceAs(redis, ids, viewerId);
  return new Map([...seen].map(([id, v]) => [id, v.presence]));
}

/** Presence of every id as `viewerId` may see it, and `known`: the id's owner accepted the viewer (or is the viewer). */
export async function readPresenceAs(
  redis: Redis,
  ids: readonly string[],
  viewerId: string | null,
): Promise<Map<string, { presence: Presence; known: boolean }>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, { presence: Presence; known: boolean }>();
  if (unique.length === 0) return out;
  const pipe = redis.pipeline();
  for (const id of unique) {
    pipe.hmget(keys.presence(id), 'status', 'lastSeenAt');
    if (viewerId !== id) pipe.sismember(keys.contactWatchers(id), viewerId ?? '');
  }
  const results = (await pipe.exec()) ?? [];
  let i = 0;
  for (const id of unique) {
    const [err, fields] = results[i++] ?? [null, null];
    let hidden = false;
    if (viewerId !== id) {
      const [watchErr, isMember] = results[i++] ?? [null, 0];
      if (watchErr) throw watchErr;
      hidden = isMember !== 1;
    }
    if (err) throw err;
    const [status, lastSeenAt] = (fields as (string | null)[] | null) ?? [];
    out.set(id, { presence: hidden ? OFFLINE : normalizePresence(status, lastSeenAt), known: !hidden });
  }
  return out;
}
