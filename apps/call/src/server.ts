// Entry point: configuration, the app, listen, graceful shutdown. Nothing else.
import { runService } from '@voip/kit/shutdown';
import { buildApp } from './app.js';
import { loadCallConfig } from './config.js';

const config = loadCallConfig();
const app = await buildApp(config);
await runService(app, { port: config.PORT, host: config.HOST, graceMs: config.SHUTDOWN_GRACE_MS });
