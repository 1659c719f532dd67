// Test support: signaling instances on port 0 against the real Redis, principals with live sessions and
// signed access tokens, and socket.io-client connections that record every event they receive.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { type CallStore, createCallStore } from '@voip/call-state/call-store';
import type { PrincipalKind } from '@voip/contracts/common';
import { keys, streams } from '@voip/contracts/redis-keys';
import { parseConfig } from '@voip/kit/config';
import { createTokenSigner } from '@voip/kit/jwt';
import { redisUrl, serviceEnv, testKeys } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { io as connectClient, type Socket } from 'socket.io-client';
import { ulid } from 'ulid';
import { afterAll, beforeAll, expect } from 'vitest';
import { buildApp } from '../../src/app.js';
import { configSpec } from '../../src/config.js';

/** Settings that keep tests quick; a test overrides what it exercises. */
export const FAST_ENV: Record<string, string> = {
  SHUTDOWN_DRAIN_MS: '100',
  CONNECTIONS_PER_IP: '100000',
  UNAUTHENTICATED_PER_IP: '100000',
  EVENTS_PER_SECOND: '10000',
  EVENT_BURST: '10000',
  WHEEL_INTERVAL_MS: '100',
};

export interface Instance {
  app: Awaited<ReturnType<typeof buildApp>>;
  url: string;
  close(): Promise<void>;
}

export async function startInstance(env: Record<string, string> = {}): Promise<Instance> {
  const config = parseConfig(configSpec, serviceEnv({ ...FAST_ENV, ...env }));
  const app = await buildApp(config);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

export interface Principal {
  userId: string;
  sessionId: string;
  kind: PrincipalKind;
  displayName: string;
  token: string;
}

let signer: ReturnType<typeof createTokenSigner> | undefined;
export function sign(
  claims: { sub: string; kind: PrincipalKind; sid: string; name?: string },
  ttlSeconds = 900,
): string {
  signer ??= createTokenSigner(testKeys().privateKey);
  return signer.sign(claims, ttlSeconds);
}

/** A user (or guest) with a live session in Redis, as auth would leave it. */
export async function principal(
  redis: Redis,
  kind: PrincipalKind = 'user',
  displayName = `name-${ulid().slice(-6)}`,
): Promise<Principal> {
  const userId = ulid();
  const sessionId = ulid();
  await redis.hset(keys.session(sessionId), {
    userId,
    kind,
    displayName,
    createdAt: new Date().toISOString(),
  });
  return {
    userId,
    sessionId,
    kind,
    displayName,
    token: sign({ sub: userId, kind, sid: sessionId, name: displayName }),
  };
}

/** What a test file shares: its instances, a Redis connection, the call store, and every client it opened. */
export interface Cluster {
  instances: Instance[];
  redis: Redis;
  store: CallStore;
  /** Registers a client so it is closed after the file's tests. */
  track(client: TestClient): TestClient;
}

/**
 * Starts `size` instances (with `env`) before the file's tests and closes them, the clients tracked and
 * Redis after. Hooks run in registration order, so a file's own beforeAll after this sees them started.
 */
export function useCluster(size: number, env: Record<string, string> = {}): Cluster {
  const clients: TestClient[] = [];
  const cluster = {
    instances: [],
    track(client: TestClient) {
      clients.push(client);
      return client;
    },
  } as unknown as Cluster;
  beforeAll(async () => {
    cluster.redis = testRedis();
    cluster.store = testCallStore(cluster.redis);
    cluster.instances = await Promise.all(Array.from({ length: size }, () => startInstance(env)));
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await Promise.all(cluster.instances.map((i) => i.close()));
    await cluster.redis?.quit();
  });
  return cluster;
}

export function testRedis(): Redis {
  return new Redis(redisUrl());
}

export function testCallStore(redis: Redis, ringTimeoutMs = 30_000): CallStore {
  return createCallStore(redis, { producerSource: 'test-call-service', ringTimeoutMs });
}

type Recorded = { event: string; payload: unknown };

/** A socket.io-client that records every server event, so a test can wait for one that already arrived. */
export class TestClient {
  readonly received: Recorded[] = [];
  /** Every event name in arrival order, never taken out (received is consumed by waitFor). */
  readonly arrivals: string[] = [];
  private waiters: { event: string; match: (p: unknown) => boolean; resolve: (p: unknown) => void }[] = [];
  session: {
    sessionId: string;
    resumeToken: string;
    resumeWindowMs: number;
    heartbeatIntervalMs: number;
    resumed?: boolean;
  } | null = null;

  constructor(
    readonly socket: Socket,
    readonly clientId: string,
  ) {
    socket.onAny((event: string, payload: unknown) => {
      this.received.push({ event, payload });
      this.arrivals.push(event);
      if (event === 'session') this.session = payload as TestClient['session'];
      this.waiters = this.waiters.filter((w) => {
        if (w.event !== event || !w.match(payload)) return true;
        w.resolve(payload);
        return false;
      });
    });
  }

  /** The next (or an already received, not yet taken) event of this name matching `match`. */
  waitFor<T = Record<string, unknown>>(
    event: string,
    match: (p: T) => boolean = () => true,
    timeoutMs = 8000,
  ): Promise<T> {
    const i = this.received.findIndex((r) => r.event === event && match(r.payload as T));
    if (i >= 0) {
      const [hit] = this.received.splice(i, 1);
      return Promise.resolve(hit!.payload as T);
    }
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for "${event}" on ${this.clientId}`)),
        timeoutMs,
      );
      this.waiters.push({
        event,
        match: (p) => match(p as T),
        resolve: (p) => {
          clearTimeout(timer);
          const j = this.received.findIndex((r) => r.payload === p);
          if (j >= 0) this.received.splice(j, 1);
          resolve(p as T);
        },
      });
    });
  }

  count(event: string, match: (p: Record<string, unknown>) => boolean = () => true): number {
    return this.received.filter((r) => r.event === event && match(r.payload as Record<string, unknown>))
      .length;
  }

  ack<T = Record<string, unknown>>(event: string, payload?: unknown, timeoutMs = 8000): Promise<T> {
    return this.socket.timeout(timeoutMs).emitWithAck(event, payload) as Promise<T>;
  }

  close() {
    this.socket.disconnect();
  }
}

export interface ConnectOptions {
  token: string;
  clientId?: string;
  resumeToken?: string;
  /** Extra engine options (transports, headers…). */
  extra?: Record<string, unknown>;
}

/** Connects and resolves once the `session` event arrived; rejects with the connect_error. */
export async function connect(url: string, opts: ConnectOptions): Promise<TestClient> {
  const clientId = opts.clientId ?? ulid();
  const socket = connectClient(url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token: opts.token, clientId, ...(opts.resumeToken ? { resumeToken: opts.resumeToken } : {}) },
    ...opts.extra,
  });
  const client = new TestClient(socket, clientId);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect_error', (err: Error & { data?: unknown }) => {
      socket.disconnect();
      reject(err);
    });
    client
      .waitFor('session', () => true, 8000)
      .then(() => {
        // Peek back: waitFor consumed it from the buffer, but tests read client.session.
        resolve();
      }, reject);
  });
  return client;
}

/** The connect_error a handshake gets, or null if it connected. */
export async function connectError(
  url: string,
  auth: Record<string, unknown>,
): Promise<(Error & { data?: { code?: string } }) | null> {
  const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth });
  return new Promise((resolve) => {
    socket.once('connect_error', (err: Error & { data?: { code?: string } }) => {
      socket.disconnect();
      resolve(err);
    });
    socket.once('connect', () => {
      socket.disconnect();
      resolve(null);
    });
  });
}

export const offer = (tag = 'o') => ({
  type: 'offer' as const,
  sdp: `v=0\r\no=- ${tag} 2 IN IP4 127.0.0.1\r\n`,
});
export const answer = (tag = 'a') => ({
  type: 'answer' as const,
  sdp: `v=0\r\no=- ${tag} 2 IN IP4 127.0.0.1\r\n`,
});
export const candidate = (n: number) => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n % 250} 5${n} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

/**
 * A call from x (on cx) to y (on cy), created as POST /api/calls creates it, offered and accepted, with
 * every step's ack checked; its callId.
 */
export async function acceptedCall(
  store: CallStore,
  from: { x: Principal; cx: TestClient },
  to: { y: Principal; cy: TestClient },
  media: 'audio' | 'video' = 'audio',
): Promise<string> {
  const res = await store.create({
    callerId: from.x.userId,
    callerKind: 'user',
    callerName: 'x',
    calleeId: to.y.userId,
    media,
  });
  if (!res.ok) throw new Error(`create failed: ${JSON.stringify(res)}`);
  const callId = res.call.callId;
  expect(await from.cx.ack('call-user', { callId, offer: offer() })).toEqual({ ok: true });
  await to.cy.waitFor('incoming-call', (p) => p.callId === callId);
  expect(await to.cy.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
  await from.cx.waitFor('call-accepted', (p) => p.callId === callId);
  return callId;
}

/** All call.* stream events about one call, parsed. */
export async function callEvents(
  redis: Redis,
  callId: string,
): Promise<{ type: string; data: Record<string, unknown> }[]> {
  const entries = await redis.xrange(streams.callEvents, '-', '+');
  return entries
    .map(
      ([, fields]) =>
        JSON.parse(fields[fields.indexOf('envelope') + 1]!) as {
          type: string;
          data: Record<string, unknown>;
        },
    )
    .filter((e) => e.data.callId === callId);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns a truthy value (for state that settles asynchronously, never for timing). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 20_000, stepMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(stepMs);
  }
}

/**
 * A bare engine.io handshake (no `sid`), as a load balancer sees it: a polling GET, or a WebSocket
 * upgrade. Resolves with the HTTP status (101 when the upgrade was accepted) and the body of a refusal.
 */
export function rawHandshake(
  url: string,
  transport: 'polling' | 'websocket',
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const target = new URL(`/socket.io/?EIO=4&transport=${transport}`, url);
  const headers: Record<string, string> =
    transport === 'websocket'
      ? {
          Connection: 'Upgrade',
          Upgrade: 'websocket',
          'Sec-WebSocket-Version': '13',
          'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        }
      : {};
  return new Promise((resolve, reject) => {
    // A new connection, as a new client opens: Node's default agent would reuse a kept-alive one, which a
    // draining server closes as idle (every 50 ms), and the request would die with "socket hang up".
    const req = httpRequest(target, { headers, agent: false });
    req.once('error', reject);
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: '', headers: res.headers });
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      res.once('error', reject);
    });
    req.end();
  });
}

/** A raw WebSocket upgrade to engine.io that never sends a Socket.io CONNECT; the status, and the open socket. */
export function rawUpgrade(url: string, headers: Record<string, string> = {}, localAddress?: string) {
  return new Promise<{ status: number; socket?: Duplex; body: string }>((resolve, reject) => {
    const req = httpRequest(new URL('/socket.io/?EIO=4&transport=websocket', url), {
      ...(localAddress ? { localAddress } : {}),
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    req.once('error', reject);
    req.once('upgrade', (res, socket) => {
      socket.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, socket, body: '' });
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.end();
  });
}
