// TURN credentials as pure functions: coturn's REST-API form (time-limited, verified by coturn with the
// shared secret) and the long-term form coturn reads from its Redis user db (revocable per call).
import { createHash, createHmac } from 'node:crypto';

export interface TurnCredential {
  username: string;
  credential: string;
}

/**
 * coturn REST API (`use-auth-secret`): username `expiry:scope`, password base64(HMAC-SHA1(secret, username)).
 * coturn takes the leading all-digit field as the expiry (unix seconds) and recomputes the password from
 * the username, so nothing is stored and nothing can be revoked: the credential works until `expiry`.
 * We scope it to one participant of one call: `scope` is `callId:userId`.
 */
export function restCredential(secret: string, scope: string, expiresAtSec: number): TurnCredential {
  const username = `${expiresAtSec}:${scope}`;
  return { username, credential: createHmac('sha1', secret).update(username).digest('base64') };
}

/**
 * The expiry of a call's REST credentials asked for at `nowSec`: the end of a window of `ttlSeconds`,
 * counted from the call's creation, with at least half a window left. Every request within half a window
 * gets the same username, so coturn's per-user quota (`user-quota`, counted per username) sees one user,
 * not a new one per second; at any moment a participant holds at most three valid usernames per call.
 */
export function restExpiry(callCreatedAtSec: number, nowSec: number, ttlSeconds: number): number {
  let k = Math.max(1, Math.floor((nowSec - callCreatedAtSec) / ttlSeconds) + 1);
  while (callCreatedAtSec + k * ttlSeconds - nowSec < ttlSeconds / 2) k++;
  return callCreatedAtSec + k * ttlSeconds;
}

/** The TURN user of one participant of one call (long-term credentials, call-scoped mode). */
export function callScopedUsername(callId: string, userId: string): string {
  return `${callId}:${userId}`;
}

/**
 * The password of a call-scoped user, derived (not random) so that every device of a participant, and
 * every repeated request, gets the same credential: re-issuing never invalidates one already handed out.
 */
export function callScopedPassword(secret: string, username: string): string {
  return createHmac('sha256', secret).update(`call-scoped:${username}`).digest('base64url');
}

/** What coturn stores for a long-term user: hex md5("username:realm:password") (RFC 5389 §15.4). */
export function coturnHmacKey(username: string, realm: string, password: string): string {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest('hex');
}
