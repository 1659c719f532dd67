// Access tokens are checked at the door (signature, expiry, live session) before anything is read
// or forwarded; the services check again. A client that keeps presenting bad tokens is throttled
// per IP, so guessing costs it 429s rather than free 401s.
import type { App } from '@voip/kit/app';
import { bearerToken, verifyAccess } from '@voip/kit/authenticate';
import { publicRoutes } from '@voip/contracts/public-routes';
import { AppError } from '@voip/kit/errors';
import { createFixedWindowLimiter } from '@voip/kit/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { createCachingVerifier } from './token-cache.js';

export const DOCS_PREFIX = '/api/docs';

/** `METHOD /path` of every route that needs no access token at the edge (from the same table as the docs). */
export const tokenlessRoutes: ReadonlySet<string> = new Set(
  publicRoutes.filter((r) => r.access === 'none' && !r.url.includes(':')).map((r) => `${r.method} ${r.url}`),
);
/**
 * The tokenless routes with path parameters (a recording's signed download link, issue 18), each
 * parameter matching one id segment (contracts' Id: letters, digits, `_`, `-`).
 */
const tokenlessPatterns: readonly RegExp[] = publicRoutes
  .filter((r) => r.access === 'none' && r.url.includes(':'))
  .map((r) => new RegExp(`^${r.method} ${r.url.replace(/:[A-Za-z]+/g, '[A-Za-z0-9_-]{1,64}')}$`));

export const pathOf = (url: string) => {
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
};

/** Routes anyone may call: register, login, refresh, guest, and the API docs. */
export function needsToken(request: Pick<FastifyRequest, 'method' | 'url'>): boolean {
  const path = pathOf(request.url);
  if (path === DOCS_PREFIX || path.startsWith(`${DOCS_PREFIX}/`)) return false;
  const key = `${request.method} ${path}`;
  return !tokenlessRoutes.has(key) && !tokenlessPatterns.some((p) => p.test(key));
}

export interface EdgeAuthOptions {
  root: App;
  failuresPerWindow: number;
  windowMs: number;
  /** Verified-token cache: 0 ms turns it off. */
  tokenCacheMs: number;
  tokenCacheEntries: number;
}

/**
 * Adds the check to every route of the scope it is called in: `app.requireAuth()` semantics (the
 * same verifyAccess, the same session checker, which the bus's session.revoked keeps current), with
 * verified signatures cached. The principal is not bound to a child logger as requireAuth does: the
 * access log names the user, and a child per request was a measurable cost.
 */
export function installEdgeAuth(
  scope: FastifyInstance,
  { root, failuresPerWindow, windowMs, tokenCacheMs, tokenCacheEntries }: EdgeAuthOptions,
) {
  const verifier =
    tokenCacheMs > 0
      ? createCachingVerifier(root.tokens, { maxAgeMs: tokenCacheMs, maxEntries: tokenCacheEntries })
      : root.tokens;
  const failures = createFixedWindowLimiter(root.redis, 'gateway-auth-failures', failuresPerWindow, windowMs);
  scope.addHook('onRequest', async (request, reply) => {
    if (!needsToken(request)) return;
    try {
      const token = bearerToken(request);
      if (!token) throw new AppError('UNAUTHORIZED', 'missing bearer token');
      request.principal = await verifyAccess(token, verifier, root.sessions);
    } catch (err) {
      if (!(err instanceof AppError) || err.status !== 401) throw err;
      const d = await failures.hit(request.ip);
      if (!d.allowed) {
        const retryAfter = Math.ceil(d.retryAfterMs / 1000);
        reply.header('retry-after', String(retryAfter));
        throw new AppError('RATE_LIMITED', 'too many requests with invalid credentials', {
          retryAfterSeconds: retryAfter,
        });
      }
      throw err;
    }
  });
}
