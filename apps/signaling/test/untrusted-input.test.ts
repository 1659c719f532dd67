// What a stranger with a socket can send: extra keys are refused and never reach the peer, what is queued
// for a peer is bounded in bytes as well as count, unknown events cost rate-limit tokens, and raw
// engine.io connections that never authenticate are limited per address.
import type { Duplex } from 'node:stream';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedCall,
  type Cluster,
  candidate,
  connect,
  eventually,
  type Instance,
  offer,
  principal,
  rawUpgrade,
  startInstance,
  testCallStore,
  testRedis,
} from './support/cluster.js';

type AckResult = { ok: boolean; error?: { code: string } };

let redis: Redis;
let store: Cluster['store'];
const opened: Instance[] = [];
const start = async (env: Record<string, string>) => {
  const inst = await startInstance(env);
  opened.push(inst);
  return inst;
};

beforeAll(() => {
  redis = testRedis();
  store = testCallStore(redis);
});
afterAll(async () => {
  await Promise.all(opened.map((i) => i.close()));
  await redis.quit();
});

/** Two connected users in an accepted call on `url`. */
async function callOn(url: string) {
  const x = await principal(redis);
  const y = await principal(redis);
  const cx = await connect(url, { token: x.token });
  const cy = await connect(url, { token: y.token });
  const callId = await acceptedCall(store, { x, cx }, { y, cy });
  return { x, y, cx, cy, callId };
}

describe('extra keys', () => {
  it('are refused with VALIDATION_FAILED wherever they hide, and never reach the peer', async () => {
    const inst = await start({});
    const { cx, cy, callId } = await callOn(inst.url);
    const smuggled = 'x'.repeat(10_000);
    const refused = [
      ['ice-candidate', { callId, candidate: { ...candidate(1), smuggled } }],
      ['ice-candidate', { callId, candidate: candidate(2), smuggled }],
      ['renegotiate', { callId, description: { ...offer('r1'), smuggled } }],
      ['call-user', { callId, offer: { ...offer('o2'), smuggled } }],
      ['heartbeat', { smuggled }],
    ] as const;
    for (const [event, payload] of refused)
      expect((await cx.ack<AckResult>(event, payload)).error?.code, event).toBe('VALIDATION_FAILED');

    // A clean message right after arrives with exactly the fields of API.md; none of the refused ones did.
    expect(await cx.ack('ice-candidate', { callId, candidate: candidate(3) })).toEqual({ ok: true });
    const got = await cy.waitFor<{ callId: string; candidate: Record<string, unknown> }>('ice-candidate');
    expect(got).toEqual({ callId, candidate: candidate(3) });
    expect(cy.count('ice-candidate')).toBe(0);
    expect(cy.arrivals.filter((e) => e === 'ice-candidate' || e === 'renegotiate')).toEqual([
      'ice-candidate',
    ]);
    cx.close();
    cy.close();
  });
});

describe('queue bounds', () => {
  it("a reconnecting device's queue is bounded in bytes: past it the sender gets RATE_LIMITED, the peer gets what fit", async () => {
    const inst = await start({
      MAX_PENDING_BYTES: '4096',
      MAX_PAYLOAD_BYTES: '4096',
      MAX_PENDING_MESSAGES: '500',
    });
    const { y, cx, cy, callId } = await callOn(inst.url);
    const resumeToken = cy.session!.resumeToken;
    cy.socket.io.engine.close(); // the network drops
    await eventually(
      async () => (await redis.hget(keys.client(y.userId, cy.clientId), 'state')) === 'reconnecting',
    );
    // Each renegotiation is about 1.6 KB of JSON: two fit in 4 KiB, the third does not.
    const description = (n: number) => ({ type: 'offer', sdp: `v=0\r\no=- ${n}\r\n${'a'.repeat(1500)}` });
    const acks: AckResult[] = [];
    for (let n = 1; n <= 4; n++)
      acks.push(await cx.ack<AckResult>('renegotiate', { callId, description: description(n) }));
    expect(acks.map((a) => a.ok)).toEqual([true, true, false, false]);
    expect(acks[2]?.error?.code).toBe('RATE_LIMITED');
    expect(await redis.llen(keys.pending(y.userId, cy.clientId))).toBe(2);
    const bytes = Number(await redis.get(keys.pendingBytes(y.userId, cy.clientId)));
    expect(bytes).toBeGreaterThan(3000);
    expect(bytes).toBeLessThanOrEqual(4096);

    const back = await connect(inst.url, { token: y.token, clientId: cy.clientId, resumeToken });
    await back.waitFor('renegotiate', (p: { description: { sdp: string } }) =>
      p.description.sdp.includes('- 2\r'),
    );
    expect(back.arrivals.filter((e) => e === 'renegotiate')).toHaveLength(2);
    // The queue and its byte count went with the resume.
    expect(
      await redis.exists(keys.pending(y.userId, cy.clientId), keys.pendingBytes(y.userId, cy.clientId)),
    ).toBe(0);
    back.close();
    cx.close();
  });

  it("a ringing call's stored candidates are bounded in bytes; past it they are still relayed live", async () => {
    const inst = await start({ MAX_CALL_CANDIDATE_BYTES: '2048', MAX_CALL_CANDIDATES: '100' });
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = await connect(inst.url, { token: x.token });
    const created = await store.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: 'x',
      calleeId: y.userId,
      media: 'audio',
    });
    if (!created.ok) throw new Error('create failed');
    const callId = created.call.callId;
    expect(await cx.ack('call-user', { callId, offer: offer() })).toEqual({ ok: true });
    // About 950 bytes each: two fit in 2 KiB.
    const big = (n: number) => ({
      ...candidate(n),
      candidate: `${candidate(n).candidate} ${'z'.repeat(850)}`,
    });
    for (let n = 1; n <= 4; n++)
      expect(await cx.ack('ice-candidate', { callId, candidate: big(n) })).toEqual({ ok: true });
    expect(await redis.llen(keys.callCandidates(callId))).toBe(2);
    expect(Number(await redis.get(keys.callCandidateBytes(callId)))).toBeLessThanOrEqual(2048);

    // A callee device connecting now gets the call and the two stored candidates.
    const cy = await connect(inst.url, { token: y.token });
    await cy.waitFor('incoming-call', (p) => p.callId === callId);
    await cy.waitFor('ice-candidate', (p: { candidate: { candidate: string } }) =>
      p.candidate.candidate.startsWith('candidate:2 '),
    );
    expect(cy.arrivals.filter((e) => e === 'ice-candidate')).toHaveLength(2);
    cx.close();
    cy.close();
  });
});

describe('unknown events', () => {
  it('cost a token like any other: a flood of them gets RATE_LIMITED, and so does the next known event', async () => {
    const inst = await start({ EVENT_BURST: '5', EVENTS_PER_SECOND: '1' });
    const c = await connect(inst.url, { token: (await principal(redis)).token });
    const acks = await Promise.all(
      Array.from({ length: 12 }, (_, i) => c.ack<AckResult>(`made-up-${i}`, { any: 'thing' })),
    );
    const limited = acks.filter((a) => a.error?.code === 'RATE_LIMITED').length;
    expect(limited).toBeGreaterThanOrEqual(5);
    expect(acks.filter((a) => a.error?.code === 'BAD_REQUEST').length + limited).toBe(12);
    expect((await c.ack<AckResult>('heartbeat', {})).error?.code).toBe('RATE_LIMITED');
    expect(c.socket.connected).toBe(true);
    c.close();
  });
});

describe('unauthenticated connections', () => {
  it('are limited per address before CONNECT; another address, and an authenticated client, still get in', async () => {
    const inst = await start({ UNAUTHENTICATED_PER_IP: '3', CONNECT_TIMEOUT_MS: '5000' });
    // Behind the trusted proxy (loopback), the client address comes from X-Forwarded-For.
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const attacker = '198.51.100.66';
    const held: Duplex[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await rawUpgrade(inst.url, from(attacker));
      expect(r.status).toBe(101);
      held.push(r.socket!);
    }
    const refused = await rawUpgrade(inst.url, from(attacker));
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.any(String) },
    });
    const other = await rawUpgrade(inst.url, from('192.0.2.10'));
    expect(other.status).toBe(101);
    other.socket!.destroy();
    const p = await principal(redis);
    const real = await connect(inst.url, { token: p.token, extra: { extraHeaders: from('192.0.2.11') } });
    expect(await real.ack('heartbeat', {})).toMatchObject({ ok: true });
    // An authenticated connection does not count: three of them from one address leave room for more.
    const authed = await Promise.all(
      [1, 2, 3].map(async () =>
        connect(inst.url, { token: p.token, extra: { extraHeaders: from('192.0.2.12') } }),
      ),
    );
    const fourth = await rawUpgrade(inst.url, from('192.0.2.12'));
    expect(fourth.status).toBe(101);
    fourth.socket!.destroy();
    // Once the attacker's sockets close, its address may connect again.
    for (const s of held) s.destroy();
    await eventually(async () => {
      const r = await rawUpgrade(inst.url, from(attacker));
      r.socket?.destroy();
      return r.status === 101;
    });
    for (const c of [real, ...authed]) c.close();
  });

  it('that never send CONNECT are closed after CONNECT_TIMEOUT_MS', async () => {
    const inst = await start({ CONNECT_TIMEOUT_MS: '300' });
    const r = await rawUpgrade(inst.url);
    expect(r.status).toBe(101);
    // The server closes it: a WebSocket close frame (0x88) arrives and the engine forgets it.
    const frame = await new Promise<Buffer>((resolve) => r.socket!.once('data', resolve));
    expect(frame[0]).toBe(0x88);
    await eventually(() => inst.app.signaling.io.engine.clientsCount === 0);
    r.socket!.destroy();
  });
});
