// The wiring every service repeats, in one place: Redis, MongoDB, the bus, and request
// authentication (with revocations from the bus dropping cached sessions at once).
import { createPublisher, createSubscriber, type Publisher, type Subscriber } from '@voip/bus/pubsub';
import type { App } from './app.js';
import { createApp } from './app.js';
import { ConfigError } from './config.js';
import { authPlugin } from './authenticate.js';
import { createTokenVerifier, loadPublicKeys } from './jwt.js';
import { mongoPlugin } from './mongo.js';
import { redisPlugin } from './redis.js';
import { createSessionChecker } from './sessions.js';

declare module 'fastify' {
  interface FastifyInstance {
    bus: Publisher;
    subscriber: Subscriber;
  }
}

export interface CommonConfig {
  HOST: string;
  LOG_LEVEL: string;
  BODY_LIMIT_BYTES: number;
  TRUST_PROXY: string;
  INSTANCE_ID?: string | undefined;
  REDIS_URL: string;
  MONGODB_URI?: string;
  JWT_PUBLIC_KEY?: string | undefined;
  JWT_PUBLIC_KEY_FILE?: string | undefined;
  INTERNAL_TOKEN: string;
}

export interface ServiceOptions {
  service: string;
  config: CommonConfig;
  mongo?: boolean;
  /** Verify access tokens and the internal credential (every service but the gateway's public door). */
  auth?: boolean;
  /** Fastify's own per-request log lines (default on); the gateway writes one access-log line instead. */
  requestLogging?: boolean;
}

export async function createService({
  service,
  config,
  mongo = false,
  auth = true,
  requestLogging = true,
}: ServiceOptions): Promise<App> {
  const app = createApp({
    service,
    ...(config.INSTANCE_ID ? { instanceId: config.INSTANCE_ID } : {}),
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    disableRequestLogging: !requestLogging,
  });
  await app.register(redisPlugin, { url: config.REDIS_URL });
  if (mongo) {
    if (!config.MONGODB_URI) throw new ConfigError('MONGODB_URI', 'is required but not set');
    await app.register(mongoPlugin, { uri: config.MONGODB_URI });
  }
  app.decorate('bus', createPublisher(app.redis, app.instanceId));
  const subscriber = createSubscriber(app.redis, { source: app.instanceId, logger: app.log, includeOwn: true });
  app.decorate('subscriber', subscriber);
  app.addHook('onClose', () => subscriber.close());
  if (auth) {
    const publicKeys = loadPublicKeys(config);
    const sessions = createSessionChecker(app.redis);
    await subscriber.on('session.revoked', (e) => sessions.invalidate(e.data.sessionId));
    await app.register(authPlugin, { verifier: createTokenVerifier(publicKeys), sessions, internalToken: config.INTERNAL_TOKEN });
  }
  return app;
}
