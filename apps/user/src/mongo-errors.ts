// The one MongoDB error this service branches on: a unique-key conflict (code 11000), which several
// repositories use as their atomic "somebody else got here first".
export const isDuplicateKey = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;

/**
 * An id for an equality filter. Every id reaching a repository passed a contracts schema (or is a token's
 * subject), so filters use plain equality (`{_id: id}`), which the driver sends as is and every store
 * answers from an index; this guard keeps an object (`{$ne: …}`) out even if a caller forgot the schema.
 */
export function plainId(id: string): string {
  if (typeof id !== 'string') throw new TypeError('an id must be a string');
  return id;
}
