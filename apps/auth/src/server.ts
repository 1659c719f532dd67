// Entry point: configuration, the app, listen, graceful shutdown. Nothing else.
import { ConfigError, loadConfig } from '@voip/kit/config';
import { runService } from '@voip/kit/shutdown';
import { buildApp } from './app.js';
import { configSpec } from './config.js';

const config = loadConfig(configSpec);
const app = await buildApp(config).catch((err: unknown) => {
  // Key problems are found while building the app; they stop start-up with one line, like config.
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
await runService(app, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS });
