// The session service (issue, refresh, revoke) as app.sessionService, over the Redis session store.
import type { TokenSigner } from '@voip/kit/jwt';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { createSessionService, type SessionService } from '../sessions/session-service.js';
import { createSessionStore } from '../sessions/session-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    sessionService: SessionService;
  }
}

export interface SessionsOptions {
  signer: TokenSigner;
  accessTtlSeconds: number;
  refreshTtlSeconds: number;
  guestRefreshTtlSeconds: number;
  refreshGraceSeconds: number;
  refreshReuseMemory: number;
}

export const sessionsPlugin = fp(
  async (app: FastifyInstance, opts: SessionsOptions) => {
    app.decorate(
      'sessionService',
      createSessionService({
        store: createSessionStore(app.redis, {
          ttlSeconds: opts.refreshTtlSeconds,
          guestTtlSeconds: opts.guestRefreshTtlSeconds,
          graceMs: opts.refreshGraceSeconds * 1000,
          usedKept: opts.refreshReuseMemory,
        }),
        signer: opts.signer,
        accessTtlSeconds: opts.accessTtlSeconds,
        checker: app.sessions,
        bus: app.bus,
      }),
    );
  },
  { name: 'session-service', dependencies: ['redis', 'authenticate'] },
);
