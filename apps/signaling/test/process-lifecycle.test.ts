import type { CallStore } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import { startRedis } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answer,
  candidate,
  connect,
  connectError,
  eventually,
  type Instance,
  offer,
  type Principal,
  principal,
  rawHandshake,
  startInstance,
  type TestClient,
  testCallStore,
  testRedis,
} from './support/cluster.js';
import { type ChildInstance, spawnInstance } from './support/process.js';

let survivor: Instance;
let redis: Redis;
let store: CallStore;
const clients: TestClient[] = [];
const children: ChildInstance[] = [];
const track = (c: TestClient) => {
  clients.push(c);
  return c;
};
const BEAT = { INSTANCE_HEARTBEAT_MS: '100', INSTANCE_TTL_MS: '400', RESUME_WINDOW_MS: '15000' };

beforeAll(async () => {
  redis = testRedis();
  store = testCallStore(redis);
  survivor = await startInstance(BEAT);
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const ch of children) await ch.kill('SIGKILL');
  await survivor?.close();
  await redis.quit();
});

async function callAcross(
  child: ChildInstance,
  other: { url: string; redis: Redis; store: CallStore } = { url: survivor.url, redis, store },
): Promise<{ x: Principal; cx: TestClient; cy: TestClient; callId: string }> {
  const x = await principal(other.redis);
  const y = await principal(other.redis);
  const cx = track(await connect(child.url, { token: x.token }));
  const cy = track(await connect(other.url, { token: y.token }));
  const res = await other.store.create({
    callerId: x.userId,
    callerKind: 'user',
    callerName: 'x',
    calleeId: y.userId,
    media: 'video',
  });
  if (!res.ok) throw new Error('create failed');
  const callId = res.call.callId;
  expect(await cx.ack('call-user', { callId, offer: offer() })).toEqual({ ok: true });
  await cy.waitFor('incoming-call');
  expect(await cy.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
  await cx.waitFor('call-accepted');
  expect(await cx.ack('ice-candidate', { callId, candidate: candidate(1) })).toEqual({ ok: true });
  await cy.waitFor('ice-candidate');
  return { x, cx, cy, callId };
}

describe('an instance killed mid-call', { timeout: 60_000 }, () => {
  it('its clients resume on the survivor and the call goes on; the dead instance is cleaned up', async () => {
    const child = await spawnInstance(BEAT);
    children.push(child);
    const { x, cx, cy, callId } = await callAcross(child);
    const resumeToken = cx.session!.resumeToken;

    expect((await child.kill('SIGKILL')).signal).toBe('SIGKILL');
    // The survivor notices the missing heartbeat and tells the peer.
    expect(await cy.waitFor('peer-reconnecting', () => true, 10_000)).toEqual({ callId });
    expect(await redis.sismember(keys.instances(), child.instanceId)).toBe(0);
    expect(await redis.exists(keys.instanceClients(child.instanceId))).toBe(0);
    expect(await redis.hget(keys.client(x.userId, cx.clientId), 'state')).toBe('reconnecting');
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(2) })).toEqual({ ok: true });

    const back = track(await connect(survivor.url, { token: x.token, clientId: cx.clientId, resumeToken }));
    expect(back.session?.resumed).toBe(true);
    expect(await back.waitFor('ice-candidate')).toEqual({ callId, candidate: candidate(2) });
    expect(await cy.waitFor('peer-reconnected')).toEqual({ callId });
    expect(await back.ack('ice-candidate', { callId, candidate: candidate(3) })).toEqual({ ok: true });
    expect(await cy.waitFor('ice-candidate')).toEqual({ callId, candidate: candidate(3) });
    expect((await store.get(callId))?.state).toBe('accepted');
  });

  it('a client that reconnects before anyone noticed the death resumes too', async () => {
    const child = await spawnInstance({ ...BEAT, INSTANCE_TTL_MS: '60000' });
    children.push(child);
    const { x, cx, cy, callId } = await callAcross(child);
    await child.kill('SIGKILL');
    const back = track(
      await connect(survivor.url, {
        token: x.token,
        clientId: cx.clientId,
        resumeToken: cx.session!.resumeToken,
      }),
    );
    expect(back.session?.resumed).toBe(true);
    // The peer never saw the caller leave; it still gets the pair, in order (API.md: peer-reconnected).
    expect(await cy.waitFor('peer-reconnected')).toEqual({ callId });
    expect(await cy.waitFor('peer-reconnecting')).toEqual({ callId });
    const peerEvents = cy.arrivals.filter((e) => e.startsWith('peer-'));
    expect(peerEvents).toEqual(['peer-reconnecting', 'peer-reconnected']);
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(4) })).toEqual({ ok: true });
    expect(await back.waitFor('ice-candidate')).toEqual({ callId, candidate: candidate(4) });
  });
});

describe('an instance killed, its heartbeat gone, nobody has reaped it yet', { timeout: 60_000 }, () => {
  it('messages for its clients are queued; a resume elsewhere gets them, the peer gets reconnecting then reconnected', async () => {
    // A Redis of its own: no instance of another test file may reap the dead instance before the resume.
    const own = await startRedis();
    const ownRedis = new Redis(own.url);
    const ownStore = testCallStore(ownRedis);
    let quiet: Instance | undefined;
    let child: ChildInstance | undefined;
    try {
      // The survivor beats once, at start, and not again during the test: the death goes unnoticed.
      quiet = await startInstance({
        REDIS_URL: own.url,
        INSTANCE_HEARTBEAT_MS: '600000',
        INSTANCE_TTL_MS: '1200000',
      });
      child = await spawnInstance({ ...BEAT, REDIS_URL: own.url });
      const { x, cx, cy, callId } = await callAcross(child, {
        url: quiet.url,
        redis: ownRedis,
        store: ownStore,
      });
      const peerEvents: string[] = [];
      cy.socket.onAny((event: string) => {
        if (event.startsWith('peer-')) peerEvents.push(event);
      });

      await child.kill('SIGKILL');
      await eventually(async () => (await ownRedis.exists(keys.instance(child!.instanceId))) === 0);
      // Not reaped: the record still says "connected" on the dead instance.
      expect(await ownRedis.sismember(keys.instances(), child.instanceId)).toBe(1);
      expect(await ownRedis.hmget(keys.client(x.userId, cx.clientId), 'state', 'instanceId')).toEqual([
        'connected',
        child.instanceId,
      ]);

      // The callee keeps trickling while the caller moves: nothing may vanish with the dead instance.
      const restart = { type: 'offer' as const, sdp: 'v=0\r\na=ice-restart\r\n' };
      expect(await cy.ack('ice-candidate', { callId, candidate: candidate(21) })).toEqual({ ok: true });
      expect(await cy.ack('renegotiate', { callId, description: restart })).toEqual({ ok: true });

      const back = track(
        await connect(quiet.url, {
          token: x.token,
          clientId: cx.clientId,
          resumeToken: cx.session!.resumeToken,
        }),
      );
      expect(back.session?.resumed).toBe(true);
      expect(
        back.received
          .filter((r) => r.event === 'ice-candidate' || r.event === 'renegotiate')
          .map((r) => r.payload),
      ).toEqual([
        { callId, candidate: candidate(21) },
        { callId, description: restart },
      ]);
      expect(await cy.waitFor('peer-reconnected')).toEqual({ callId });
      expect(peerEvents).toEqual(['peer-reconnecting', 'peer-reconnected']);

      // The call goes on from the survivor, both ways.
      expect(await back.ack('ice-candidate', { callId, candidate: candidate(22) })).toEqual({ ok: true });
      const is = (n: number) => (p: { candidate?: unknown }) =>
        (p.candidate as { candidate?: string } | null)?.candidate === candidate(n).candidate;
      expect(await cy.waitFor('ice-candidate', is(22))).toEqual({ callId, candidate: candidate(22) });
      expect(await cy.ack('ice-candidate', { callId, candidate: candidate(23) })).toEqual({ ok: true });
      expect(await back.waitFor('ice-candidate', is(23))).toEqual({ callId, candidate: candidate(23) });
      expect((await ownStore.get(callId))?.state).toBe('accepted');
      expect(await ownRedis.llen(keys.pending(x.userId, cx.clientId))).toBe(0);
    } finally {
      for (const c of clients.splice(0)) c.close();
      await child?.kill('SIGKILL');
      await quiet?.close();
      await ownRedis.quit();
      await own.stop();
    }
  });
});

describe('graceful shutdown (SIGTERM)', { timeout: 60_000 }, () => {
  it('tells clients to move, refuses new ones, waits (bounded), exits 0, and the call survives', async () => {
    const child = await spawnInstance({
      SHUTDOWN_DRAIN_MS: '1500',
      SHUTDOWN_RECONNECT_AFTER_MS: '100',
      SHUTDOWN_RECONNECT_JITTER_MS: '100',
    });
    children.push(child);
    const { x, cx, cy, callId } = await callAcross(child);
    // A second client that never moves: the drain must not wait for it forever. It long-polls, so each
    // of its requests carries the session's `sid`.
    const idle = track(
      await connect(child.url, {
        token: (await principal(redis)).token,
        extra: { transports: ['polling'] },
      }),
    );
    const idleClosed = new Promise<string>((r) => idle.socket.once('disconnect', r));

    child.child.kill('SIGTERM');
    const notice = await cx.waitFor<{ reconnectAfterMs: number }>('server-shutdown');
    expect(notice.reconnectAfterMs).toBeGreaterThanOrEqual(100);
    expect(notice.reconnectAfterMs).toBeLessThanOrEqual(200);
    // New handshakes get an HTTP 503 (Nginx retries those on the next instance), both transports.
    for (const transport of ['polling', 'websocket'] as const) {
      const refused = await rawHandshake(child.url, transport);
      expect(refused.status, transport).toBe(503);
      expect(JSON.parse(refused.body)).toEqual({
        error: { code: 'DRAINING', message: expect.any(String) },
      });
    }
    expect(await connectError(child.url, { token: x.token, clientId: ulid() })).toBeInstanceOf(Error);
    expect((await fetch(`${child.url}/ready`)).status).toBe(503);
    // Existing sessions are served until they leave, by WebSocket and by polling (requests with a sid).
    expect(await cx.ack('heartbeat', {})).toMatchObject({ ok: true });
    expect(await idle.ack('heartbeat', {})).toMatchObject({ ok: true });
    expect(idle.socket.io.engine.transport.name).toBe('polling');

    // The client moves to another instance, as told.
    const resumeToken = cx.session!.resumeToken;
    cx.close();
    const back = track(await connect(survivor.url, { token: x.token, clientId: cx.clientId, resumeToken }));
    expect(back.session?.resumed).toBe(true);

    expect(await idleClosed).toBe('io server disconnect');
    const exit = await child.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(5) })).toEqual({ ok: true });
    expect(await back.waitFor('ice-candidate')).toEqual({ callId, candidate: candidate(5) });
    expect((await store.get(callId))?.state).toBe('accepted');
    await eventually(async () => (await redis.sismember(keys.instances(), child.instanceId)) === 0);
    expect(await redis.exists(keys.instance(child.instanceId))).toBe(0);
  });
});
