// Who is calling? Verifies `Authorization: Bearer` access tokens (pinned ES256) and that their
// session is still live, or the internal service credential. Routes opt in with a preHandler:
//   app.get('/me', { preHandler: app.requireAuth() }, ...)
import { createHash, timingSafeEqual } from 'node:crypto';
import type { PrincipalKind } from '@voip/contracts/common';
import { INTERNAL_TOKEN_HEADER, type Principal } from '@voip/contracts/tokens';
import type { FastifyInstance, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { AppError } from './errors.js';
import type { TokenVerifier } from './jwt.js';
import type { SessionChecker } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyInstance {
    tokens: TokenVerifier;
    sessions: SessionChecker;
    /** Any valid access token (optionally only the given kinds). */
    requireAuth(kinds?: PrincipalKind[]): preHandlerAsyncHookHandler;
    /** The internal service credential, or (when allowAdmin) an admin access token. */
    requireInternal(opts?: { allowAdmin?: boolean }): preHandlerAsyncHookHandler;
  }
}

export interface AuthPluginOptions {
  verifier: TokenVerifier;
  sessions: SessionChecker;
  internalToken: string;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The caller of a route behind `requireAuth()`, which sets it: its absence is a route declared without
 * it, answered as an unauthenticated request rather than a crash.
 */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new AppError('UNAUTHORIZED', 'missing bearer token');
  return request.principal;
}

/** Constant-time comparison of a presented internal credential with the configured one. */
export function internalTokenMatches(presented: unknown, expected: string): boolean {
  return typeof presented === 'string' && presented.length > 0 && timingSafeEqual(digest(presented), digest(expected));
}

export function bearerToken(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer ([A-Za-z0-9_.\-+/=]{10,4096})$/.exec(h.trim());
  return m?.[1] ?? null;
}

export async function verifyAccess(
  token: string,
  verifier: TokenVerifier,
  sessions: SessionChecker,
): Promise<Principal> {
  const claims = verifier.verify(token);
  if (!(await sessions.isActive(claims.sid))) throw new AppError('SESSION_REVOKED', 'session has been revoked');
  return { id: claims.sub, kind: claims.kind, sessionId: claims.sid, ...(claims.name ? { displayName: claims.name } : {}) };
}

export const authPlugin = fp(
  async (app: FastifyInstance, opts: AuthPluginOptions) => {
    app.decorate('tokens', opts.verifier);
    app.decorate('sessions', opts.sessions);
    app.decorateRequest('principal', null);

    app.decorate('requireAuth', (kinds?: PrincipalKind[]) => async (request: FastifyRequest) => {
      const token = bearerToken(request);
      if (!token) throw new AppError('UNAUTHORIZED', 'missing bearer token');
      const principal = await verifyAccess(token, opts.verifier, opts.sessions);
      if (kinds && !kinds.includes(principal.kind as PrincipalKind))
        throw new AppError('FORBIDDEN', `not allowed for ${principal.kind} accounts`);
      request.principal = principal;
      request.log = request.log.child({ userId: principal.id });
    });

    app.decorate('requireInternal', ({ allowAdmin = false } = {}) => async (request: FastifyRequest) => {
      if (internalTokenMatches(request.headers[INTERNAL_TOKEN_HEADER], opts.internalToken)) {
        request.principal = { id: 'internal', kind: 'service', sessionId: 'internal' };
        return;
      }
      const token = bearerToken(request);
      if (!token) throw new AppError('UNAUTHORIZED', 'missing credentials');
      const principal = await verifyAccess(token, opts.verifier, opts.sessions);
      if (!allowAdmin || principal.kind !== 'admin') throw new AppError('FORBIDDEN', 'admin or internal credential required');
      request.principal = principal;
    });
  },
  { name: 'authenticate' },
);
