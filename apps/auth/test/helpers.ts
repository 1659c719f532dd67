// Shared by the route tests: an auth app on the real servers, accounts to act with, and readers for
// what auth leaves on the bus.
import { createHmac, createSign, randomBytes } from 'node:crypto';
import { createSubscriber } from '@voip/bus/pubsub';
import { ENTRY_FIELD } from '@voip/bus/streams';
import type { BusEventData, BusEventType } from '@voip/contracts/bus-events';
import { streams } from '@voip/contracts/redis-keys';
import { parseConfig } from '@voip/kit/config';
import { serviceEnv } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import { setAdmin } from '../src/accounts/admin-rights.js';
import { buildApp } from '../src/app.js';
import { configSpec } from '../src/config.js';

export type AuthApp = Awaited<ReturnType<typeof buildApp>>;

/** Every test file's app shares one Redis, so the per-IP limits are lifted unless a test sets them. */
export function authEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return serviceEnv({
    REGISTER_MAX_PER_IP: '100000',
    GUEST_MAX_PER_IP: '100000',
    LOGIN_MAX_FAILURES_PER_IP: '100000',
    ...extra,
  });
}

export async function startAuth(env: NodeJS.ProcessEnv = authEnv()): Promise<AuthApp> {
  const app = await buildApp(parseConfig(configSpec, env));
  await app.ready();
  return app;
}

export function uniqueUsername(prefix = 'user'): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

export const PASSWORD = 'correct horse battery staple';

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export interface Registered {
  username: string;
  userId: string;
  accessToken: string;
  refreshToken: string;
}

export async function register(
  app: AuthApp,
  username = uniqueUsername(),
  displayName = 'Test User',
  remoteAddress = '127.0.0.1',
): Promise<Registered> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/register',
    remoteAddress,
    payload: { username, password: PASSWORD, displayName },
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { username, userId: body.user.id, accessToken: body.accessToken, refreshToken: body.refreshToken };
}

/** What `pnpm admin grant|revoke <userId>` does, against this app's database and Redis. */
export async function changeAdmin(app: AuthApp, userId: string, admin: boolean) {
  return setAdmin(
    {
      users: app.accounts.users,
      revokeSessionsOf: (id) => app.sessionService.revokeAllOf(id, 'admin', app.log),
    },
    userId,
    admin,
  );
}

/** A registered account granted admin rights by id, signed in again: its admin access token. */
export async function registerAdmin(app: AuthApp, username = uniqueUsername('admin')): Promise<string> {
  const r = await register(app, username);
  await changeAdmin(app, r.userId, true);
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { username, password: PASSWORD },
  });
  if (res.json().user?.kind !== 'admin') throw new Error(`admin login failed: ${res.statusCode} ${res.body}`);
  return res.json().accessToken as string;
}

export async function createGuest(app: AuthApp, displayName = 'Guest') {
  const res = await app.inject({ method: 'POST', url: '/api/auth/guest', payload: { displayName } });
  if (res.statusCode !== 201) throw new Error(`guest failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return {
    guestId: body.guest.id as string,
    accessToken: body.accessToken as string,
    refreshToken: body.refreshToken as string,
  };
}

export interface StreamEvent {
  type: string;
  source: string;
  data: Record<string, unknown>;
}

/** The account stream as envelopes; it is shared by every test file, so callers filter by their ids. */
export async function accountEvents(redis: Redis): Promise<StreamEvent[]> {
  const entries = await redis.xrange(streams.accountEvents, '-', '+');
  return entries.map(([, fields]) => {
    const i = fields.indexOf(ENTRY_FIELD);
    return JSON.parse(fields[i + 1] as string) as StreamEvent;
  });
}

/** Collects one pub/sub event type from the bus, on a connection of its own. */
export async function listen<K extends BusEventType>(redis: Redis, type: K) {
  const received: Array<BusEventData<K>> = [];
  const sub = createSubscriber(redis, { source: 'test-listener', includeOwn: true });
  await sub.on(type, (e) => {
    received.push(e.data);
  });
  return { received, close: () => sub.close() };
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/** A hand-made JWT, for forgeries jsonwebtoken refuses to produce. */
export function craftJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: (input: string) => string,
): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign(input)}`;
}

export const es256With = (privateKeyPem: string) => (input: string) =>
  createSign('SHA256')
    .update(input)
    .sign({ key: privateKeyPem, dsaEncoding: 'ieee-p1363' })
    .toString('base64url');

export const hs256With = (secret: string) => (input: string) =>
  createHmac('sha256', secret).update(input).digest('base64url');

export function claims(over: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub: 'user1',
    kind: 'user',
    sid: 'sid1',
    iat: now,
    exp: now + 600,
    iss: 'voip-auth',
    aud: 'voip',
    ...over,
  };
}
