// Presence as the signaling service keeps it in Redis (keys.presence(userId): hash status,
// lastSeenAt), read for many users in one pipeline. Someone who has blocked the viewer looks offline
// to them. Anything missing or unreadable is "offline, never seen", never an error.
import type { Presence, PresenceStatus } from '@voip/contracts/users';
import { keys } from '@voip/contracts/redis-keys';
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

/** Presence of every id (deduplicated) as `viewerId` may see it. */
export async function readPresence(
  redis: Redis,
  ids: readonly string[],
  viewerId: string | null,
): Promise<Map<string, Presence>> {
  const unique = [...new Set(ids)];
  const out = new Map<string, Presence>();
  if (unique.length === 0) return out;
  const pipe = redis.pipeline();
  for (const id of unique) {
    pipe.hmget(keys.presence(id), 'status', 'lastSeenAt');
    if (viewerId && viewerId !== id) pipe.sismember(keys.blocks(id), viewerId);
  }
  const results = (await pipe.exec()) ?? [];
  let i = 0;
  for (const id of unique) {
    const [err, fields] = results[i++] ?? [null, null];
    let hidden = false;
    if (viewerId && viewerId !== id) {
      const [blockErr, isMember] = results[i++] ?? [null, 0];
      if (blockErr) throw blockErr;
      hidden = isMember === 1;
    }
    if (err) throw err;
    const [status, lastSeenAt] = (fields as (string | null)[] | null) ?? [];
    out.set(id, hidden ? OFFLINE : normalizePresence(status, lastSeenAt));
  }
  return out;
}
