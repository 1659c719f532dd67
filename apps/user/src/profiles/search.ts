// Pure helpers of the profile search: the anchored prefix pattern (user input is escaped, never
// interpreted as a regex) and the opaque page cursor, which is the last (searchName, id) returned.

/**
 * The form names are searched in: NFC (so composed and decomposed Hangul or accents match) and
 * lower-cased. Stored as the profile's searchName and applied to every query.
 */
export const searchKeyOf = (name: string): string => name.normalize('NFC').toLowerCase();

/** Escapes every regex metacharacter so `q` only ever matches itself. */
export const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

/** `^<escaped search key of q>`: an anchored prefix match on the searchName field. */
export const prefixPattern = (q: string): string => `^${escapeRegex(searchKeyOf(q))}`;

export interface SearchPosition {
  name: string;
  id: string;
}

export function encodeSearchCursor(pos: SearchPosition): string {
  return Buffer.from(JSON.stringify([pos.name, pos.id]), 'utf8').toString('base64url');
}

/** Null when the cursor is not one this service made. */
export function decodeSearchCursor(cursor: string): SearchPosition | null {
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) return null;
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 2) return null;
    const [name, id] = v as unknown[];
    if (typeof name !== 'string' || typeof id !== 'string' || name.length > 256 || id.length > 64)
      return null;
    return { name, id };
  } catch {
    return null;
  }
}
