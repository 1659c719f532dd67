// Entry point: configuration, the app, listen, graceful shutdown. Nothing else.
import { exitOnConfigError, loadConfig } from '@voip/kit/config';
import { runService } from '@voip/kit/shutdown';
import { buildApp } from './app.js';
import { configSpec } from './config.js';

const config = loadConfig(configSpec);
const app = await exitOnConfigError(buildApp(config));
await runService(app, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS });
