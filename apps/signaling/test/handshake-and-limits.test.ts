import { createPublisher } from '@voip/bus/pubsub';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import { clientIp, trustedProxies } from '../src/connections/handshake.js';
import {
  candidate,
  connect,
  connectError,
  eventually,
  type Instance,
  principal,
  rawHandshake,
  sign,
  startInstance,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(2);
let inst: Instance;
let second: Instance;
let redis: Redis;
const { track } = cluster;
beforeAll(() => {
  [inst, second] = cluster.instances as [Instance, Instance];
  ({ redis } = cluster);
});

describe('handshake', () => {
  it('refuses a missing or malformed auth with UNAUTHORIZED', async () => {
    const p = await principal(redis);
    expect((await connectError(inst.url, {}))?.data?.code).toBe('UNAUTHORIZED');
    expect((await connectError(inst.url, { token: p.token }))?.data?.code).toBe('UNAUTHORIZED');
    expect((await connectError(inst.url, { token: p.token, clientId: 'bad id!' }))?.data?.code).toBe(
      'UNAUTHORIZED',
    );
    expect((await connectError(inst.url, { token: 'not-a-jwt', clientId: ulid() }))?.data?.code).toBe(
      'UNAUTHORIZED',
    );
  });

  it('refuses an expired token with TOKEN_EXPIRED', async () => {
    const p = await principal(redis);
    const expired = sign({ sub: p.userId, kind: 'user', sid: p.sessionId }, -60);
    const err = await connectError(inst.url, { token: expired, clientId: ulid() });
    expect(err?.data?.code).toBe('TOKEN_EXPIRED');
  });

  it('refuses a revoked session', async () => {
    const p = await principal(redis);
    await redis.del(keys.session(p.sessionId));
    expect((await connectError(inst.url, { token: p.token, clientId: ulid() }))?.data?.code).toBe(
      'SESSION_REVOKED',
    );
  });

  it('a session.revoked bus event sends session-revoked, then disconnects that session only', async () => {
    const p = await principal(redis);
    const victim = track(await connect(inst.url, { token: p.token }));
    const other = track(await connect(inst.url, { token: (await principal(redis)).token }));
    const closed = new Promise<string>((r) => victim.socket.once('disconnect', r));
    await redis.del(keys.session(p.sessionId));
    await createPublisher(redis, 'auth-test').publish('session.revoked', {
      sessionId: p.sessionId,
      userId: p.userId,
      reason: 'logout',
    });
    expect(await victim.waitFor('session-revoked')).toEqual({ reason: 'logout' });
    expect(await closed).toBe('io server disconnect');
    expect(other.socket.connected).toBe(true);
    expect(await other.ack('heartbeat', {})).toMatchObject({ ok: true });
    await eventually(async () => (await redis.hexists(keys.userClients(p.userId), victim.clientId)) === 0);
  });

  it('a session.revoked bus event closes that session on every instance', async () => {
    const p = await principal(redis);
    const onFirst = track(await connect(inst.url, { token: p.token }));
    const onSecond = track(await connect(second.url, { token: p.token }));
    const closed = [onFirst, onSecond].map((c) => new Promise<string>((r) => c.socket.once('disconnect', r)));
    await redis.del(keys.session(p.sessionId));
    await createPublisher(redis, 'auth-test').publish('session.revoked', {
      sessionId: p.sessionId,
      userId: p.userId,
      reason: 'password-changed',
    });
    expect(await onFirst.waitFor('session-revoked')).toEqual({ reason: 'password-changed' });
    expect(await onSecond.waitFor('session-revoked')).toEqual({ reason: 'password-changed' });
    expect(await Promise.all(closed)).toEqual(['io server disconnect', 'io server disconnect']);
    // Gone for good on both: no device left to resume.
    await eventually(async () => (await redis.hlen(keys.userClients(p.userId))) === 0);
    expect(await redis.exists(keys.client(p.userId, onFirst.clientId))).toBe(0);
    expect(await redis.exists(keys.client(p.userId, onSecond.clientId))).toBe(0);
  });
});

describe('limits', () => {
  it('a payload over the limit closes only the sender', async () => {
    const p = await principal(redis);
    const big = track(await connect(inst.url, { token: p.token }));
    const bystander = track(await connect(inst.url, { token: (await principal(redis)).token }));
    const closed = new Promise<string>((r) => big.socket.once('disconnect', r));
    big.socket.emit('ice-candidate', {
      callId: ulid(),
      candidate: { ...candidate(1), candidate: 'x'.repeat(70 * 1024) },
    });
    expect(await closed).toMatch(/transport (close|error)/);
    expect(bystander.socket.connected).toBe(true);
    expect(await bystander.ack('heartbeat', {})).toMatchObject({ ok: true });
  });

  it('per-IP connection rate: RATE_LIMITED with a retry hint', async () => {
    const limited = await startInstance({ CONNECTIONS_PER_IP: '2', CONNECTIONS_PER_IP_WINDOW_MS: '60000' });
    try {
      const p = await principal(redis);
      // Behind the trusted proxy (loopback), the client address comes from X-Forwarded-For.
      const ip = `198.51.100.${Math.floor(Math.random() * 250)}`;
      const extra = { extraHeaders: { 'x-forwarded-for': ip } };
      const first = await connect(limited.url, { token: p.token, extra });
      const second = await connect(limited.url, { token: p.token, extra });
      const third = await connect(limited.url, { token: p.token, extra }).catch(
        (e: Error & { data?: { code: string; retryAfterMs: number } }) => e,
      );
      expect(third).toBeInstanceOf(Error);
      expect((third as Error & { data: { code: string; retryAfterMs: number } }).data).toMatchObject({
        code: 'RATE_LIMITED',
        retryAfterMs: expect.any(Number),
      });
      // Another address is not affected.
      const elsewhere = await connect(limited.url, {
        token: p.token,
        extra: { extraHeaders: { 'x-forwarded-for': '192.0.2.77' } },
      });
      for (const c of [first, second, elsewhere]) c.close();
    } finally {
      await limited.close();
    }
  });

  it('per-socket event rate: RATE_LIMITED acks past the burst, the socket stays up', async () => {
    const slow = await startInstance({ EVENT_BURST: '5', EVENTS_PER_SECOND: '1' });
    try {
      const c = await connect(slow.url, { token: (await principal(redis)).token });
      const acks = await Promise.all(
        Array.from({ length: 12 }, () => c.ack<{ ok: boolean; error?: { code: string } }>('heartbeat', {})),
      );
      // The burst passes; a slow machine may refill one more token meanwhile, never most of the rest.
      const passed = acks.filter((x) => x.ok).length;
      const limited = acks.filter((x) => x.error?.code === 'RATE_LIMITED').length;
      expect(passed).toBeGreaterThanOrEqual(5);
      expect(limited).toBeGreaterThanOrEqual(5);
      expect(passed + limited).toBe(12);
      expect(c.socket.connected).toBe(true);
      const metrics = (await slow.app.inject('/metrics')).body;
      expect(metrics).toContain(`signaling_rejected_messages_total{reason="RATE_LIMITED"`);
      expect(metrics).toMatch(
        new RegExp(`signaling_rejected_messages_total\\{reason="RATE_LIMITED"[^}]*\\} ${limited}\\n`),
      );
      c.close();
    } finally {
      await slow.close();
    }
  });

  it('max connections per instance: new handshakes get HTTP 503 OVERLOADED, the open socket stays', async () => {
    const small = await startInstance({ MAX_CONNECTIONS: '1' });
    try {
      const p = await principal(redis);
      const c = await connect(small.url, { token: p.token });
      for (const transport of ['polling', 'websocket'] as const) {
        const refused = await rawHandshake(small.url, transport);
        expect(refused.status, transport).toBe(503);
        expect(refused.headers['retry-after']).toBe('1');
        expect(JSON.parse(refused.body)).toEqual({
          error: { code: 'OVERLOADED', message: expect.any(String) },
        });
      }
      expect(await connectError(small.url, { token: p.token, clientId: ulid() })).toBeInstanceOf(Error);
      expect(await c.ack('heartbeat', {})).toMatchObject({ ok: true });
      const metrics = (await small.app.inject('/metrics')).body;
      expect(metrics).toMatch(/signaling_connection_attempts_total\{result="OVERLOADED"[^}]*\} [1-9]/);
      // Room again once it leaves.
      c.close();
      await eventually(async () => (await rawHandshake(small.url, 'polling')).status === 200);
    } finally {
      await small.close();
    }
  });
});

describe('client address', () => {
  const hs = (address: string, xff?: string) =>
    ({ address, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as Parameters<
      typeof clientIp
    >[0];

  it('trusts X-Forwarded-For only from a trusted proxy', () => {
    const trusted = trustedProxies('127.0.0.1/8,::1/128,10.0.0.5');
    expect(clientIp(hs('127.0.0.1', '203.0.113.9, 10.0.0.1'), trusted)).toBe('203.0.113.9');
    expect(clientIp(hs('::ffff:10.0.0.5', '203.0.113.10'), trusted)).toBe('203.0.113.10');
    expect(clientIp(hs('198.51.100.1', '203.0.113.9'), trusted)).toBe('198.51.100.1');
    expect(clientIp(hs('::1'), trusted)).toBe('::1');
  });
});
