import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { channels } from '@voip/contracts/redis-keys';
import { serviceEnv } from '@voip/testkit/env';
import { freePort, waitForPort } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
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
});
