// The user service as an app: tests build this; server.ts only listens.
import type { App } from '@voip/kit/app';
import { createService } from '@voip/kit/service';
import type { Config } from './config.js';
import { domainPlugin } from './plugins/domain.js';
import { streamConsumersPlugin } from './plugins/stream-consumers.js';
import blockRoutes from './routes/blocks/index.js';
import contactRoutes from './routes/contacts/index.js';
import deviceRoutes from './routes/devices/index.js';
import guestRoutes from './routes/guests/index.js';
import internalRoutes from './routes/internal/index.js';
import meRoutes from './routes/me/index.js';
import profileRoutes from './routes/profiles/index.js';
import syncRoutes from './routes/sync/index.js';

export async function buildApp(config: Config): Promise<App> {
  const app = await createService({ service: 'user', config, mongo: true });
  await app.register(domainPlugin, {
    limits: {
      maxContacts: config.MAX_CONTACTS,
      maxDevices: config.MAX_DEVICES,
      presenceMaxIds: config.PRESENCE_MAX_IDS,
      syncPageSize: config.SYNC_PAGE_SIZE,
      searchRateLimit: config.SEARCH_RATE_LIMIT,
      searchRateWindowMs: config.SEARCH_RATE_WINDOW_MS,
    },
    syncHoleGraceMs: config.SYNC_HOLE_GRACE_MS,
  });
  // The gateway forwards /api/users/* unchanged, so the public routes live under that prefix here too.
  for (const routes of [
    meRoutes,
    contactRoutes,
    blockRoutes,
    deviceRoutes,
    guestRoutes,
    syncRoutes,
    profileRoutes,
  ])
    await app.register(routes, { prefix: '/api/users' });
  await app.register(internalRoutes);
  if (config.STREAM_CONSUMERS)
    await app.register(streamConsumersPlugin, {
      blockMs: config.STREAM_BLOCK_MS,
      claimIdleMs: config.STREAM_CLAIM_IDLE_MS,
      maxDeliveries: config.STREAM_MAX_DELIVERIES,
      syncConsumers: config.SYNC_CONSUMERS,
      outageRetryMs: config.STREAM_OUTAGE_RETRY_MS,
      outageRetryMaxMs: config.STREAM_OUTAGE_RETRY_MAX_MS,
    });
  return app;
}
