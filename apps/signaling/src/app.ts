// The signaling service as an app: tests build this; server.ts only listens.
import type { App } from '@voip/kit/app';
import { createService } from '@voip/kit/service';
import type { Config } from './config.js';
import { signalingPlugin } from './plugins/signaling.js';

export async function buildApp(config: Config): Promise<App> {
  const app = await createService({ service: 'signaling', config, mongo: false });
  await app.register(signalingPlugin, { config });
  return app;
}
