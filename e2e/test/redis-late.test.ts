// Every service started while Redis is not yet accepting connections waits with /ready 503 (never a
// crash: the signaling adapter's subscriber once died of an unhandled "Connection is closed"), turns
// ready by itself when Redis comes up, and survives Redis going away and coming back. The built services
// as real processes, each spawned directly (not through the stack, which starts Redis first).
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_INTERNAL_TOKEN, testKeys } from '@voip/testkit/env';
import {
  freePort,
  type RunningServer,
  startMongo,
  startRedis,
  uniqueName,
  waitForPort,
} from '@voip/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, register } from '@voip/testkit/public-client';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SERVICES = ['auth', 'user', 'call', 'signaling', 'gateway'] as const;
type Name = (typeof SERVICES)[number];

interface Proc {
  name: Name;
  url: string;
  child: ChildProcess;
  output(): string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readiness(p: Proc): Promise<{ status: number; checks: Record<string, string> }> {
  const res = await fetch(`${p.url}/ready`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, checks: ((await res.json()) as { checks: Record<string, string> }).checks };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('services started before Redis', () => {
  let mongo: RunningServer;
  let redis: RunningServer | undefined;
  let redisPort: number;
  const procs: Proc[] = [];

  const alive = () => procs.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  const expectAllAlive = () => {
    const dead = alive();
    expect(
      dead.map((p) => `${p.name} exited ${p.child.exitCode ?? p.child.signalCode}:\n${p.output()}`),
    ).toEqual([]);
  };

  beforeAll(async () => {
    mongo = await startMongo();
    redisPort = await freePort();
    const ports = Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await freePort()])));
    const url = (s: Name) => `http://127.0.0.1:${ports[s]}`;
    for (const name of SERVICES) {
      const entry = join(root, 'apps', name, 'dist', 'server.js');
      if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (pnpm build)`);
      let out = '';
      const child = spawn(process.execPath, ['--enable-source-maps', entry], {
        env: {
          ...process.env,
          ...{
            HOST: '127.0.0.1',
            LOG_LEVEL: 'warn',
            JWT_PUBLIC_KEY: testKeys().publicKey,
            JWT_PRIVATE_KEY: testKeys().privateKey,
            INTERNAL_TOKEN: TEST_INTERNAL_TOKEN,
            PORT: String(ports[name]),
            INSTANCE_ID: `${name}-late`,
            REDIS_URL: `redis://127.0.0.1:${redisPort}`,
            MONGODB_URI: `${mongo.url}/${uniqueName('late')}`,
            AUTH_SERVICE_URL: url('auth'),
            USER_SERVICE_URL: url('user'),
            CALL_SERVICE_URL: url('call'),
            AUTH_UPSTREAMS: url('auth'),
            USER_UPSTREAMS: url('user'),
            CALL_UPSTREAMS: url('call'),
            HEALTH_CHECK_INTERVAL_MS: '200',
          },
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (d: Buffer) => {
        out = (out + d.toString()).slice(-20_000);
      };
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      procs.push({ name, url: url(name), child, output: () => out });
    }
    await Promise.all(
      procs.map((p) =>
        waitForPort(ports[p.name], 60_000).catch((err: Error) => {
          throw new Error(
            `${p.name} never listened (exit ${p.child.exitCode ?? p.child.signalCode}): ${err.message}\n${p.output()}`,
          );
        }),
      ),
    );
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      procs.map(async (p) => {
        if (p.child.exitCode !== null || p.child.signalCode !== null) return;
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(t);
      }),
    );
    await redis?.stop();
    await mongo?.stop();
  });

  it('wait with /ready 503 while Redis is down, become ready when it comes up, and survive it going away', async () => {
    for (const p of procs) {
      const r = await readiness(p);
      expect(r.status, p.name).toBe(503);
      if (p.name !== 'gateway') expect(r.checks.redis, p.name).not.toBe('ok');
    }
    // Long enough for every reconnect attempt and start-up step to have failed a few times.
    await sleep(4000);
    expectAllAlive();
    for (const p of procs) expect((await readiness(p)).status, p.name).toBe(503);

    redis = await startRedis({ port: redisPort });
    for (const p of procs)
      await until(`${p.name} ready`, async () => (await readiness(p)).status === 200, 60_000);
    expectAllAlive();

    // Working, not only ready: sign up through the gateway, connect a socket to signaling.
    const gateway = procs.find((p) => p.name === 'gateway')!;
    const signaling = procs.find((p) => p.name === 'signaling')!;
    const alice = await register(gateway.url, 'Alice');
    const { socket } = await connect(signaling.url, alice, 'websocket');
    socket.close();

    // Redis goes away again (no persistence here: its data goes too) and comes back.
    await redis.stop();
    redis = undefined;
    for (const p of procs.filter((q) => q.name !== 'gateway'))
      await until(`${p.name} not ready`, async () => (await readiness(p)).status === 503, 30_000);
    await sleep(3000);
    expectAllAlive();
    redis = await startRedis({ port: redisPort });
    for (const p of procs)
      await until(`${p.name} ready again`, async () => (await readiness(p)).status === 200, 60_000);
    const bob = await register(gateway.url, 'Bob');
    const again = await connect(signaling.url, bob, 'websocket');
    again.socket.close();
    expectAllAlive();
  }, 240_000);
});
