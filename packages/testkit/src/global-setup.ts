// Vitest globalSetup: one real Redis and one MongoDB-compatible server per package run, unless
// REDIS_URL / MONGODB_URI already point at servers to use. Workers inherit the URLs via the env.
import { type RunningServer, startMongo, startRedis } from './servers.js';

export default async function setup(): Promise<() => Promise<void>> {
  const started: RunningServer[] = [];
  const [redis, mongo] = await Promise.all([
    process.env.REDIS_URL ? null : startRedis(),
    process.env.MONGODB_URI || process.env.VOIP_TEST_NO_MONGO ? null : startMongo(),
  ]);
  if (redis) {
    started.push(redis);
    process.env.REDIS_URL = redis.url;
  }
  if (mongo) {
    started.push(mongo);
    process.env.MONGODB_URI = mongo.url;
  }
  return async () => {
    await Promise.all(started.map((s) => s.stop()));
  };
}
