// The servers a scenario compares: our signaling instances (the built apps/signaling, a real process each)
// and the baselines (bare Socket.io, the PeerJS server), plus Redis, keys and authenticated principals.
// Servers go on the server core, with lib/probe.ts preloaded.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { keys } from '@voip/contracts/redis-keys';
import { createTokenSigner } from '@voip/kit/jwt';
import { testKeys } from '@voip/testkit/env';
import { freePort, type RunningServer, startRedis } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { cores, type Proc, repoDir, spawnNode, waitFor } from './proc.ts';

export interface BenchRedis {
  url: string;
  pid: number;
  client: Redis;
  stop(): Promise<void>;
}

/** A fresh redis-server, pinned to the server core. */
export async function benchRedis(): Promise<BenchRedis> {
  const r: RunningServer = await startRedis();
  if (r.pid) spawnSync('taskset', ['-cp', cores.server, String(r.pid)], { stdio: 'ignore' });
  const client = new Redis(r.url, { maxRetriesPerRequest: 3 });
  return {
    url: r.url,
    pid: r.pid ?? 0,
    client,
    async stop() {
      client.disconnect();
      await r.stop();
    },
  };
}

/** Limits a loopback benchmark would otherwise hit (per-address, per-socket rates): all raised. */
export const benchLimits = {
  EVENTS_PER_SECOND: '1000000',
  EVENT_BURST: '1000000',
  MAX_WAITING_EVENTS: '100000',
  MAX_WAITING_EVENT_BYTES: String(64 * 1024 * 1024),
  CONNECTIONS_PER_IP: '1000000',
  UNAUTHENTICATED_PER_IP: '1000000',
  MAX_CONNECTIONS: '1000000',
  MAX_PENDING_MESSAGES: '100000',
  MAX_PENDING_BYTES: String(64 * 1024 * 1024),
};

export const internalToken = `${randomUUID()}${randomUUID()}`;

export interface Server {
  name: string;
  url: string;
  port: number;
  instanceId: string;
  proc: Proc;
  stop(): Promise<void>;
}

/** One instance of our signaling service (apps/signaling/dist/server.js). */
export async function startSignaling(
  redisUrl: string,
  name: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
  tap = false,
): Promise<Server> {
  const port = await freePort();
  const instanceId = `${name}-${ulid().slice(-6)}`;
  // BENCH_CPU_PROFILE=<dir>: a V8 CPU profile of every signaling instance, written there when it stops.
  const prof = process.env.BENCH_CPU_PROFILE
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE}`]
    : [];
  const proc = spawnNode({
    name,
    core: cores.server,
    script: fileURLToPath(new URL('apps/signaling/dist/server.js', `file://${repoDir}`)),
    cwd: `${repoDir}apps/signaling`,
    probe: true,
    tap,
    nodeArgs: [...prof, ...nodeArgs],
    env: {
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_URL: redisUrl,
      JWT_PUBLIC_KEY: testKeys().publicKey,
      INTERNAL_TOKEN: internalToken,
      INSTANCE_ID: instanceId,
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      TRUST_PROXY: '127.0.0.1',
      ...benchLimits,
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} ready`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.tail()}`);
    return (await fetch(`${url}/ready`)).ok;
  }).catch((e: Error) => {
    throw new Error(`${e.message}: ${proc.tail()}`);
  });
  return { name, url, port, instanceId, proc, stop: () => proc.stop() };
}

/** A baseline server in bench/servers/ (bare Socket.io, PeerJS), on the server core. */
export async function startBaseline(
  script: 'bare.ts' | 'peer.ts',
  name: string,
  env: Record<string, string> = {},
): Promise<Server> {
  const port = await freePort();
  const proc = spawnNode({
    name,
    core: cores.server,
    script: fileURLToPath(new URL(`../servers/${script}`, import.meta.url)),
    probe: true,
    env: { PORT: String(port), ...env },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${name} listening`, async () => {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited: ${proc.tail()}`);
    const res = await fetch(`${url}${script === 'peer.ts' ? '/' : '/ready'}`);
    return res.ok;
  });
  return { name, url, port, instanceId: name, proc, stop: () => proc.stop() };
}

export interface Principal {
  userId: string;
  clientId: string;
  sessionId: string;
  token: string;
}

const signer = () => createTokenSigner(testKeys().privateKey);
let cachedSigner: ReturnType<typeof signer> | undefined;

/** `n` users with a live session each and an access token (1 h), written in one pipeline. */
export async function principals(redis: Redis, n: number): Promise<Principal[]> {
  cachedSigner ??= signer();
  const out: Principal[] = [];
  for (let i = 0; i < n; i += 1000) {
    const pipe = redis.pipeline();
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const userId = ulid();
      const sessionId = ulid();
      pipe.hset(keys.session(sessionId), { userId, kind: 'user' });
      pipe.pexpire(keys.session(sessionId), 3 * 3600_000);
      out.push({
        userId,
        clientId: ulid(),
        sessionId,
        token: cachedSigner.sign({ sub: userId, kind: 'user', sid: sessionId }, 3600),
      });
    }
    await pipe.exec();
  }
  return out;
}
