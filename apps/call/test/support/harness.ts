// What the call-service tests share: the service on the run's real Redis and MongoDB-compatible server,
// signed-in accounts (auth is another service: tokens are minted with the test key pair and the session
// hash auth would keep is written here), and a Redis database number per test file, because the
// call-events stream and its consumer group are shared keys and test files run in parallel.
import { randomUUID } from 'node:crypto';
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { createTokenSigner } from '@voip/kit/jwt';
import { createRedis } from '@voip/kit/redis';
import { redisUrl, serviceEnv, testKeys } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import { buildApp } from '../../src/app.js';
import { parseCallConfig } from '../../src/config.js';

export const newId = () => randomUUID().replaceAll('-', '').toUpperCase().slice(0, 26);

/** The run's Redis, database `db` (each test file owns one: see the table in README.md). */
export function redisUrlForDb(db: number): string {
  const u = new URL(redisUrl());
  u.pathname = `/${db}`;
  return u.toString();
}

export async function connectRedis(db: number): Promise<Redis> {
  const r = createRedis(redisUrlForDb(db));
  await r.connect();
  return r;
}

/** A call-service environment on its own Redis database and a fresh Mongo database. */
export function callEnv(db: number, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return serviceEnv({
    REDIS_URL: redisUrlForDb(db),
    PUSH_PROVIDER: 'log',
    HISTORY_BLOCK_MS: '50',
    HISTORY_CLAIM_IDLE_MS: '200',
    RING_SWEEP_INTERVAL_MS: '0',
    ...extra,
  });
}

export async function startCallService(env: NodeJS.ProcessEnv): Promise<App> {
  const app = await buildApp(parseCallConfig(env));
  await app.ready();
  return app;
}

export interface Account {
  id: string;
  kind: PrincipalKind;
  displayName: string;
  headers: { authorization: string };
}

/** A signed-in account: a live session in Redis and an access token for it. */
export async function signIn(
  redis: Redis,
  kind: PrincipalKind = 'user',
  displayName = `Person ${newId().slice(-6)}`,
): Promise<Account> {
  const id = newId();
  const sid = newId();
  await redis.hset(keys.session(sid), { userId: id, kind, displayName, createdAt: new Date().toISOString() });
  await redis.expire(keys.session(sid), 3600);
  const token = createTokenSigner(testKeys().privateKey).sign({ sub: id, kind, sid, name: displayName }, 900);
  return { id, kind, displayName, headers: { authorization: `Bearer ${token}` } };
}

/**
 * Puts one device of a user in keys.userClients as signaling writes it: `connected`, or `reconnecting`
 * (its socket dropped; it may resume within the window).
 */
export async function connectDevice(
  redis: Redis,
  userId: string,
  clientId = newId(),
  state: 'connected' | 'reconnecting' = 'connected',
): Promise<void> {
  await redis.hset(
    keys.userClients(userId),
    clientId,
    JSON.stringify({
      instanceId: 'test',
      socketId: 's1',
      connectedAt: new Date().toISOString(),
      state,
      kind: 'user',
    }),
  );
}

/** Polls until check() returns a value (not undefined/false), or throws after timeoutMs. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
