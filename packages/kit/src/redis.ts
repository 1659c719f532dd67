// A Redis connection as a Fastify resource: retries with capped back-off, fails commands fast while
// down (so requests get 503, not a hang), reports readiness honestly, and quits on close.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Redis, type RedisOptions } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis;
  }
}

export function redisOptions(extra: RedisOptions = {}): RedisOptions {
  return {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 3000),
    ...extra,
  };
}

export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, redisOptions(extra));
}

export const redisPlugin = fp(
  async (app: FastifyInstance, opts: { url: string }) => {
    const redis = createRedis(opts.url, { connectionName: app.instanceId });
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis error'));
    try {
      await redis.connect();
    } catch (err) {
      // Keep starting: ioredis reconnects in the background and /ready says 503 until it does.
      app.log.error({ err: (err as Error).message }, 'redis not reachable yet; retrying in the background');
    }
    app.decorate('redis', redis);
    app.readiness.set('redis', async () => {
      if (redis.status !== 'ready') throw new Error(`redis ${redis.status}`);
      await redis.ping();
    });
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'redis' },
);
