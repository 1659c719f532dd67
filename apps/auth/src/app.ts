// The auth service as an app: tests build this; server.ts only listens.
import type { App } from '@voip/kit/app';
import { ConfigError } from '@voip/kit/config';
import { createService } from '@voip/kit/service';
import { startGuestSweeper } from './accounts/guest-sweeper.js';
import type { Config } from './config.js';
import { accountsPlugin } from './plugins/accounts.js';
import { sessionsPlugin } from './plugins/sessions.js';
import { throttlesPlugin } from './plugins/throttles.js';
import { accountRoutes } from './routes/auth/accounts.js';
import { guestRoutes } from './routes/auth/guests.js';
import { sessionAdminRoutes } from './routes/auth/sessions.js';
import { tokenRoutes } from './routes/auth/tokens.js';
import { loadTokenSigner } from './sessions/token-signer.js';

/** Routes live under /api/auth on the service itself: the gateway forwards that prefix unchanged. */
export const ROUTE_PREFIX = '/api/auth';

export async function buildApp(config: Config): Promise<App> {
  // Silently ignoring it would leave an operator believing those names are admins (or that nobody can
  // claim them): refuse to start instead.
  if (config.ADMIN_USERNAMES.length > 0)
    throw new ConfigError(
      'ADMIN_USERNAMES',
      'is no longer read: grant admin rights by user id with `pnpm admin grant <userId>` (apps/auth README)',
    );
  const signer = loadTokenSigner(config);
  const app = await createService({ service: 'auth', config, mongo: true });
  await app.register(accountsPlugin);
  await app.register(sessionsPlugin, {
    signer,
    accessTtlSeconds: config.ACCESS_TTL_SECONDS,
    refreshTtlSeconds: config.REFRESH_TTL_SECONDS,
    guestRefreshTtlSeconds: config.GUEST_REFRESH_TTL_SECONDS,
    refreshGraceSeconds: config.REFRESH_GRACE_SECONDS,
    refreshReuseMemory: config.REFRESH_REUSE_MEMORY,
  });
  await app.register(throttlesPlugin, config);
  await app.register(accountRoutes, { prefix: ROUTE_PREFIX });
  await app.register(tokenRoutes, { prefix: ROUTE_PREFIX });
  await app.register(guestRoutes, { prefix: ROUTE_PREFIX });
  await app.register(sessionAdminRoutes, { prefix: ROUTE_PREFIX });
  if (config.GUEST_SWEEP_INTERVAL_MS > 0) {
    const sweeper = startGuestSweeper({
      redis: app.redis,
      cleanup: { guests: app.accounts.guests, events: app.accounts.events, sessions: app.sessionService },
      intervalMs: config.GUEST_SWEEP_INTERVAL_MS,
      maxIdleMs: config.GUEST_REFRESH_TTL_SECONDS * 1000,
      log: app.log.child({ job: 'guest-sweep' }),
    });
    app.addHook('preClose', () => sweeper.stop());
  }
  return app;
}
