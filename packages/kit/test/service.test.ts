import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { channels } from '@voip/contracts/redis-keys';
import { serviceEnv } from '@voip/testkit/env';
import { freePort, startMongo, waitForPort } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { App } from '../src/app.js';
import {
  baseConfigSpec,
  jwtVerifyConfigSpec,
  mongoConfigSpec,
  parseConfig,
  redisConfigSpec,
} from '../src/config.js';
import { createService } from '../src/service.js';

const spec = { ...baseConfigSpec, ...redisConfigSpec, ...mongoConfigSpec, ...jwtVerifyConfigSpec };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function service(env: NodeJS.ProcessEnv): Promise<App> {
  const app = await createService({ service: 'kit-test', config: parseConfig(spec, env), mongo: true });
  cleanups.push(() => app.close());
  await app.ready();
  return app;
}

/** A redis-server of this test's own on a chosen port, so it can come up after the service did. */
async function redisServerOn(port: number): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'kit-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    {
      stdio: 'ignore',
    },
  );
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });
  await waitForPort(port);
  return child;
}

describe('createService readiness', () => {
  it('answers /ready 200 with Redis and MongoDB reachable', async () => {
    const app = await service(serviceEnv());
    const res = await app.inject('/ready');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ready', checks: { redis: 'ok', mongo: 'ok' } });
  });

  it('starts while Redis is unreachable, answers /ready 503, and becomes ready when Redis comes up', async () => {
    const port = await freePort();
    const app = await service(serviceEnv({ REDIS_URL: `redis://127.0.0.1:${port}` }));
    const down = await app.inject('/ready');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'not-ready',
      checks: { mongo: 'ok', redis: expect.not.stringMatching(/^ok$/) },
    });
    expect((await app.inject('/health')).statusCode).toBe(200);

    await redisServerOn(port);
    for (let i = 0; i < 200 && (await app.inject('/ready')).statusCode !== 200; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect((await app.inject('/ready')).json()).toEqual({
      status: 'ready',
      checks: { redis: 'ok', mongo: 'ok' },
    });

    // The session.revoked subscription asked for while Redis was down is in place now.
    const probe = new Redis(`redis://127.0.0.1:${port}`);
    cleanups.push(() => void probe.disconnect());
    const channel = channels.bus('session.revoked');
    for (let i = 0; i < 200; i++) {
      const [, count] = (await probe.pubsub('NUMSUB', channel)) as [string, number];
      if (count > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await probe.pubsub('NUMSUB', channel)).toEqual([channel, 1]);
  });

  it('starts while MongoDB is unreachable, answers /ready 503, becomes ready when it comes up and 503 again when it goes', {
    timeout: 90_000,
  }, async () => {
    const port = await freePort();
    // The service waits for MongoDB a moment (3 s), then serves anyway with readiness telling the truth.
    const app = await service(serviceEnv({ MONGODB_URI: `mongodb://127.0.0.1:${port}/kit_late` }));
    const down = await app.inject('/ready');
    expect(down.statusCode).toBe(503);
    expect(down.json()).toMatchObject({
      status: 'not-ready',
      checks: { redis: 'ok', mongo: expect.not.stringMatching(/^ok$/) },
    });
    expect((await app.inject('/health')).statusCode).toBe(200);

    const mongo = await startMongo({ port });
    cleanups.push(() => mongo.stop());
    // Its background retries (back-off up to 5 s) find it.
    await vi.waitFor(async () => expect((await app.inject('/ready')).statusCode).toBe(200), {
      timeout: 30_000,
      interval: 200,
    });
    expect((await app.inject('/ready')).json()).toEqual({
      status: 'ready',
      checks: { redis: 'ok', mongo: 'ok' },
    });

    await mongo.stop();
    await vi.waitFor(async () => expect((await app.inject('/ready')).statusCode).toBe(503), {
      timeout: 30_000,
      interval: 200,
    });
  });
});
