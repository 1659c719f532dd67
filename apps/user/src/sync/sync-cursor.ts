// The opaque cursor of GET /sync/changes: the last feed sequence number the client has, tagged with
// a digest of its account so a cursor copied to another account is refused instead of misread.
import { createHash } from 'node:crypto';

const accountTag = (userId: string) => createHash('sha256').update(userId).digest('base64url').slice(0, 8);

export function encodeSyncCursor(userId: string, seq: number): string {
  return `c1.${seq.toString(36)}.${accountTag(userId)}`;
}

export type DecodedCursor = { ok: true; seq: number } | { ok: false; reason: string };

export function decodeSyncCursor(userId: string, cursor: string): DecodedCursor {
  const m = /^c1\.([0-9a-z]{1,11})\.([A-Za-z0-9_-]{8})$/.exec(cursor);
  if (!m) return { ok: false, reason: 'not a sync cursor' };
  const seq = Number.parseInt(m[1]!, 36);
  if (!Number.isSafeInteger(seq)) return { ok: false, reason: 'not a sync cursor' };
  if (m[2] !== accountTag(userId)) return { ok: false, reason: 'cursor belongs to another account' };
  return { ok: true, seq };
}
