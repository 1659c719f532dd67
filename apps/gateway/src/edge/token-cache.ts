// Remembers which access tokens already passed the ES256 check, so a client's burst of requests
// pays for one signature verification instead of one each (it was the gateway's largest CPU cost).
// Only the signature/claims check is cached: the session check still runs on every request.
import type { AccessTokenClaims } from '@voip/contracts/tokens';
import type { TokenVerifier } from '@voip/kit/jwt';

export interface TokenCacheOptions {
  /** How long a verified token is trusted without re-checking its signature (never past its `exp`). */
  maxAgeMs: number;
  /** Most tokens kept; the least recently used go first. */
  maxEntries: number;
  now?: () => number;
}

interface Entry {
  claims: AccessTokenClaims;
  until: number;
}

export interface CachingTokenVerifier extends TokenVerifier {
  readonly size: number;
}

/**
 * Wraps a verifier with a bounded LRU keyed by the exact token string. An entry lives until
 * min(now + maxAgeMs, exp): a cached token can never be accepted after it expired. Failures are
 * not cached (they are throttled per IP instead), so a bad token is always re-checked.
 */
export function createCachingVerifier(
  verifier: TokenVerifier,
  { maxAgeMs, maxEntries, now = Date.now }: TokenCacheOptions,
): CachingTokenVerifier {
  // A Map iterates in insertion order; re-inserting on a hit makes its first key the least recently used.
  const cache = new Map<string, Entry>();
  return {
    get size() {
      return cache.size;
    },
    verify(token) {
      const t = now();
      const hit = cache.get(token);
      if (hit) {
        cache.delete(token);
        if (hit.until > t) {
          cache.set(token, hit);
          return hit.claims;
        }
      }
      const claims = verifier.verify(token);
      // `exp` is in seconds; the token is valid while now < exp * 1000 (as jsonwebtoken decides).
      const until = Math.min(t + maxAgeMs, claims.exp * 1000);
      if (until > t) {
        cache.set(token, { claims, until });
        if (cache.size > maxEntries) cache.delete(cache.keys().next().value as string);
      }
      return claims;
    },
  };
}
