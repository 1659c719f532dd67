// The gateway service as an app: tests build this; server.ts only listens.
import type { App } from '@voip/kit/app';
import { createService } from '@voip/kit/service';
import type { Config } from './config.js';
import { installAccessLog } from './edge/access-log.js';
import { installSecurityHeaders } from './edge/security.js';
import { publicApi } from './routes/public-api.js';
import { createUpstreamPools } from './upstreams/upstream-pools.js';

export async function buildApp(config: Config): Promise<App> {
  const app = await createService({ service: 'gateway', config, mongo: false, requestLogging: false });
  app.decorateRequest('upstream', null);
  app.decorateRequest('upstreamService', null);
  await installSecurityHeaders(app, config.CORS_ORIGINS);
  installAccessLog(app);
  const pools = createUpstreamPools(app, config);
  await app.register(publicApi, { root: app, config, pools });
  return app;
}
