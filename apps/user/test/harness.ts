// What the user-service tests share: an app on the real Redis + MongoDB-compatible server of the
// run, and signed-in accounts. Auth is another service, so tests mint access tokens with the test
// key pair and write the session hash auth would keep (keys.session) themselves.
import { randomUUID } from 'node:crypto';
import type { BusEventData, BusEventType } from '@voip/contracts/bus-events';
import type { PrincipalKind } from '@voip/contracts/common';
import { keys } from '@voip/contracts/redis-keys';
import { INTERNAL_TOKEN_HEADER } from '@voip/contracts/tokens';
import type { App } from '@voip/kit/app';
import { parseConfig } from '@voip/kit/config';
import { createTokenSigner } from '@voip/kit/jwt';
import { serviceEnv, TEST_INTERNAL_TOKEN, testKeys } from '@voip/testkit/env';
import { buildApp } from '../src/app.js';
import { configSpec } from '../src/config.js';

export const newId = () => randomUUID().replaceAll('-', '').toUpperCase().slice(0, 26);

export interface TestService {
  app: App;
  env: NodeJS.ProcessEnv;
}

/** A user service on a fresh database (or on `shareWith`'s database, as a second instance). */
export async function startUserService(
  extra: Record<string, string> = {},
  shareWith?: TestService,
): Promise<TestService> {
  const env = serviceEnv({
    STREAM_CONSUMERS: 'false',
    ...(shareWith ? { MONGODB_URI: shareWith.env.MONGODB_URI! } : {}),
    ...extra,
  });
  const app = await buildApp(parseConfig(configSpec, env));
  await app.ready();
  return { app, env };
}

export interface Account {
  id: string;
  kind: PrincipalKind;
  displayName: string;
  sid: string;
  token: string;
  headers: { authorization: string };
}

const signer = () => createTokenSigner(testKeys().privateKey);

/** A signed-in account with a live session (no profile yet: see withProfile). */
export async function signIn(
  app: App,
  kind: PrincipalKind = 'user',
  displayName = `Person ${newId().slice(-6)}`,
): Promise<Account> {
  const id = newId();
  const sid = newId();
  await app.redis.hset(keys.session(sid), {
    userId: id,
    kind,
    displayName,
    createdAt: new Date().toISOString(),
  });
  await app.redis.expire(keys.session(sid), 3600);
  const token = signer().sign({ sub: id, kind, sid, name: displayName }, 900);
  return { id, kind, displayName, sid, token, headers: { authorization: `Bearer ${token}` } };
}

/** signIn plus the profile that auth's account event would have created. */
export async function withProfile(
  app: App,
  kind: PrincipalKind = 'user',
  displayName?: string,
): Promise<Account> {
  const a = await signIn(app, kind, displayName);
  const res = await app.inject({ method: 'GET', url: '/api/users/me', headers: a.headers });
  if (res.statusCode !== 200) throw new Error(`GET /me answered ${res.statusCode}: ${res.body}`);
  return a;
}

export const internalHeaders = { [INTERNAL_TOKEN_HEADER]: TEST_INTERNAL_TOKEN };

/** A bus envelope as the stream consumer hands it over. */
export function envelope<K extends BusEventType>(type: K, data: BusEventData<K>, id = newId()) {
  return { v: 1 as const, type, id, source: 'test', at: new Date().toISOString(), data };
}

export interface SyncChangeBody {
  entity: string;
  op: string;
  id: string;
  data?: Record<string, unknown>;
  at: string;
}

/** Pages GET /sync/changes from `since` until hasMore is false. */
export async function drainSync(app: App, a: Account, since?: string, limit = 50) {
  const changes: SyncChangeBody[] = [];
  let cursor = since;
  for (let guard = 0; guard < 10_000; guard++) {
    const q = new URLSearchParams({ limit: String(limit), ...(cursor ? { since: cursor } : {}) });
    const res = await app.inject({ url: `/api/users/sync/changes?${q}`, headers: a.headers });
    if (res.statusCode !== 200) throw new Error(`sync answered ${res.statusCode}: ${res.body}`);
    const body = res.json() as { changes: SyncChangeBody[]; cursor: string; hasMore: boolean };
    changes.push(...body.changes);
    cursor = body.cursor;
    if (!body.hasMore) return { changes, cursor };
  }
  throw new Error('sync never finished');
}

/** Polls `check` until it returns a value other than undefined (stream consumers work in the background). */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
