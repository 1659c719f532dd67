// The reach mirror (keys.reach, keys.blocks, keys.contacts): what call initiation needs of a callee,
// kept in Redis by the user service (the owner, from MongoDB) and read by the call service, so a call's
// hot path reads no database. One writer format and one reader here, so both sides agree.
import type { PrincipalKind } from './common.js';
import type { Reachability } from './internal.js';
import type { IncomingCalls } from './users.js';

export interface ReachProfile {
  kind: PrincipalKind;
  displayName: string;
  doNotDisturb: boolean;
  /** The effective setting (the default for the kind when the user never chose). */
  incomingCalls: IncomingCalls;
}

/** The hash written to keys.reach(userId). */
export function reachMirrorFields(p: ReachProfile): Record<string, string> {
  return {
    kind: p.kind,
    displayName: p.displayName,
    dnd: p.doNotDisturb ? '1' : '0',
    incomingCalls: p.incomingCalls,
  };
}

const KINDS: readonly string[] = ['user', 'admin', 'guest'];
const SETTINGS: readonly string[] = ['everyone', 'registered', 'contacts', 'nobody'];

/**
 * Reachability from the mirror (HGETALL keys.reach(callee), SISMEMBER keys.blocks(callee) caller,
 * SISMEMBER keys.contacts(callee) caller), or null when the hash is absent or unreadable: the caller
 * then asks the owner, never guesses.
 */
export function reachFromMirror(
  hash: Record<string, string> | null | undefined,
  blocked: boolean,
  contact: boolean,
): Reachability | null {
  if (!hash) return null;
  const { kind, displayName, dnd, incomingCalls } = hash;
  if (kind === undefined || !KINDS.includes(kind)) return null;
  if (displayName === undefined || (dnd !== '0' && dnd !== '1')) return null;
  if (incomingCalls === undefined || !SETTINGS.includes(incomingCalls)) return null;
  return {
    exists: true,
    kind: kind as PrincipalKind,
    displayName,
    blocked,
    doNotDisturb: dnd === '1',
    incomingCalls: incomingCalls as IncomingCalls,
    contact,
  };
}
