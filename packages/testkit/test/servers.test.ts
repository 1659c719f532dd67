import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import { mongoUriFor, startMongo, startRedis } from '../src/servers.js';

describe('testkit servers', () => {
  it('starts a real redis-server on a free port and removes it after', async () => {
    const srv = await startRedis();
    const redis = new Redis(srv.url);
    expect(await redis.ping()).toBe('PONG');
    await redis.quit();
    await srv.stop();
    const dead = new Redis(srv.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    await expect(dead.connect()).rejects.toThrow();
    dead.disconnect();
  });

  it('starts a MongoDB wire-protocol server that stores and finds documents', async () => {
    const srv = await startMongo();
    const conn = await mongoose.createConnection(mongoUriFor(srv.url, 'kit')).asPromise();
    await conn.collection('things').insertOne({ name: 'probe', n: 1 });
    expect(await conn.collection('things').findOne({ name: 'probe' })).toMatchObject({ n: 1 });
    await conn.close();
    await srv.stop();
  }, 30_000);
});
