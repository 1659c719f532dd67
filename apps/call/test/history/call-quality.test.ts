// Call quality on the history record (issue 19), on a real call service (Redis, FerretDB): call.quality
// entries on the call-events stream, as signaling appends them, are folded per side with an estimated MOS;
// a repeat changes nothing; GET /api/calls/:id shows them to participants only; the figures reach
// /metrics without a per-call label; the operator's worst-calls route needs an admin and sorts by MOS.
import { createStreamProducer } from '@voip/bus/streams';
import { type CallQualityPayload, estimateMos } from '@voip/contracts/quality';
import { streams } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, callEnv, eventually, signIn, startCallService } from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 14;

describe('call quality on the call record', () => {
  let users: UserServiceStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;
  let mallory: Account;
  let admin: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    app = await startCallService(callEnv(DB, { USER_SERVICE_URL: users.url }));
    await app.redis.flushdb();
    alice = await signIn(app.redis, 'user', 'Alice');
    bob = await signIn(app.redis, 'user', 'Bob');
    mallory = await signIn(app.redis, 'user', 'Mallory');
    admin = await signIn(app.redis, 'admin', 'Operator');
    for (const a of [alice, bob, mallory]) users.users.set(a.id, { displayName: a.displayName });
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await users?.close();
  });

  const producer = () => createStreamProducer(app.redis, 'test-signaling');
  const send = (
    callId: string,
    side: 'caller' | 'callee',
    clientId: string,
    summary: Omit<CallQualityPayload, 'callId'>,
  ) =>
    producer().append(streams.callEvents, 'call.quality', {
      callId,
      side,
      userId: side === 'caller' ? alice.id : bob.id,
      clientId,
      receivedAt: new Date().toISOString(),
      summary: { callId, ...summary },
    });

  /** An answered call from alice to bob, ended after the given summaries were folded in. */
  async function callWith(summaries: (callId: string) => Promise<unknown>, expectSamples: number) {
    const res = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: alice.headers,
      payload: { calleeId: bob.id, media: 'audio' },
    });
    expect(res.statusCode).toBe(201);
    const callId = res.json().callId as string;
    const { store, calls } = app.callService;
    expect(
      (await store.transition(callId, { type: 'accept' }, { byUserId: bob.id, clientId: 'phone' })).ok,
    ).toBe(true);
    // The record exists (call.created folded in) before the summaries, as in a real call.
    await eventually(async () => (await calls.model.collection.findOne({ _id: callId as never })) !== null);
    await summaries(callId);
    await eventually(async () => {
      const doc = await calls.findForParticipant(callId, alice.id);
      const n = (doc?.quality?.caller?.samples ?? 0) + (doc?.quality?.callee?.samples ?? 0);
      return n === expectSamples;
    });
    expect((await store.transition(callId, { type: 'hangup' }, { byUserId: alice.id })).ok).toBe(true);
    await eventually(
      async () => (await calls.model.collection.findOne({ _id: callId as never }))?.state === 'ended',
    );
    return callId;
  }

  let goodCall = '';
  let badCall = '';
  const metricsBefore = { count: 0 };
  const intervalCount = async () => {
    const body = (await app.inject('/metrics')).body;
    return Number(/^call_quality_interval_mos_count\{[^}]*\} (\d+)/m.exec(body)?.[1] ?? 0);
  };

  it('stores both sides with averages, worst intervals, MOS, path and time to media', async () => {
    metricsBefore.count = await intervalCount();
    goodCall = await callWith(async (callId) => {
      // Caller: relayed over TURN/TLS, one clean 4 s interval and one lossy 2 s one, then final.
      await send(callId, 'caller', 'laptop', {
        seq: 1,
        intervalMs: 4000,
        rttMs: 40,
        jitterMs: 4,
        packetLossInPct: 0,
        bitrateKbps: { audioIn: 30, audioOut: 32 },
        path: { local: 'relay', remote: 'srflx', transport: 'udp', relayProtocol: 'tls' },
        timeToMediaMs: 600,
        step: '720p',
      });
      await send(callId, 'caller', 'laptop', {
        seq: 2,
        intervalMs: 2000,
        rttMs: 100,
        jitterMs: 10,
        packetLossInPct: 6,
        bitrateKbps: { audioIn: 24, audioOut: 32 },
        step: '480p',
        final: true,
      });
      // The same entry delivered again (a retried emit): nothing changes.
      await send(callId, 'caller', 'laptop', { seq: 2, intervalMs: 2000, rttMs: 900, packetLossInPct: 90 });
      // Callee: direct.
      await send(callId, 'callee', 'phone', {
        seq: 1,
        intervalMs: 5000,
        rttMs: 38,
        jitterMs: 3,
        packetLossInPct: 0.5,
        bitrateKbps: { audioIn: 31, audioOut: 30 },
        path: { local: 'host', remote: 'srflx', transport: 'udp' },
        timeToMediaMs: 450,
      });
    }, 3);

    const res = await app.inject({ url: `/api/calls/${goodCall}`, headers: bob.headers });
    expect(res.statusCode).toBe(200);
    const { quality } = res.json();
    const m1 = estimateMos({ rttMs: 40, jitterMs: 4, lossPct: 0 }) as number;
    const m2 = estimateMos({ rttMs: 100, jitterMs: 10, lossPct: 6 }) as number;
    expect(quality.caller).toMatchObject({
      samples: 2,
      coveredMs: 6000,
      final: true,
      path: 'relay',
      relayProtocol: 'tls',
      timeToMediaMs: 600,
      step: '480p',
      stepChanges: 1,
      poor: false,
      worst: { rttMs: 100, jitterMs: 10, packetLossInPct: 6, mos: m2 },
      bitrateKbps: { audioIn: 28, audioOut: 32, videoIn: null, videoOut: null },
    });
    // Weighted by interval length: (40·4 + 100·2) / 6 = 60 ms.
    expect(quality.caller.avg.rttMs).toBe(60);
    expect(quality.caller.avg.mos).toBeCloseTo((m1 * 4 + m2 * 2) / 6, 2);
    expect(quality.callee).toMatchObject({
      samples: 1,
      final: false,
      path: 'direct',
      relayProtocol: null,
      timeToMediaMs: 450,
      avg: { rttMs: 38, mos: estimateMos({ rttMs: 38, jitterMs: 3, lossPct: 0.5 }) },
    });
    expect(quality.callee.avg.mos).toBeGreaterThan(4);

    // Participants only: a stranger still gets the 404 of an unknown call.
    const stranger = await app.inject({ url: `/api/calls/${goodCall}`, headers: mallory.headers });
    expect(stranger.statusCode).toBe(404);
  }, 60_000);

  it('exposes the figures on /metrics without a per-call label', async () => {
    badCall = await callWith(async (callId) => {
      await send(callId, 'caller', 'laptop', {
        seq: 1,
        intervalMs: 5000,
        rttMs: 600,
        jitterMs: 40,
        packetLossInPct: 18,
        path: { local: 'relay', remote: 'relay', transport: 'tcp', relayProtocol: 'tcp' },
        final: true,
      });
    }, 1);
    const body = (await app.inject('/metrics')).body;
    // 3 folded intervals of the first call (the repeat is not one) and 1 of this one.
    expect((await intervalCount()) - metricsBefore.count).toBe(4);
    expect(body).toMatch(/^call_quality_sides_total\{path="relay",relay_protocol="tls"[^}]*\} 1$/m);
    expect(body).toMatch(/^call_quality_sides_total\{path="relay",relay_protocol="tcp"[^}]*\} 1$/m);
    // The callee side of the first call never sent a final summary: counted when the call ended.
    expect(body).toMatch(/^call_quality_sides_total\{path="direct",relay_protocol="none"[^}]*\} 1$/m);
    expect(body).toMatch(/^call_quality_poor_sides_total\{[^}]*\} 1$/m);
    expect(body).toMatch(/^call_quality_time_to_media_seconds_count\{[^}]*\} 2$/m);
    expect(body).toMatch(/^call_quality_rtt_seconds_bucket\{le="0.6"[^}]*\} [1-9]/m);
    expect(body).toMatch(/^call_quality_packet_loss_percent_count\{[^}]*\} [1-9]/m);
    expect(body).not.toContain(goodCall);
    expect(body).not.toContain(badCall);
  }, 60_000);

  it('the worst-calls route: admins only, lowest MOS first, within the period', async () => {
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const url = `/api/calls/quality/worst?from=${encodeURIComponent(from)}`;
    expect((await app.inject({ url })).statusCode).toBe(401);
    const user = await app.inject({ url, headers: alice.headers });
    expect(user.statusCode).toBe(403);
    expect(user.json().error.code).toBe('FORBIDDEN');

    const res = await app.inject({ url, headers: admin.headers });
    expect(res.statusCode).toBe(200);
    const items = res.json().items as {
      callId: string;
      mos: number;
      quality: { caller?: { poor: boolean } };
    }[];
    expect(items.map((i) => i.callId)).toEqual([badCall, goodCall]);
    expect(items[0]!.mos).toBeLessThan(items[1]!.mos);
    expect(items[0]!.quality.caller?.poor).toBe(true);

    const limited = await app.inject({ url: `${url}&limit=1`, headers: admin.headers });
    expect(limited.json().items.map((i: { callId: string }) => i.callId)).toEqual([badCall]);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const later = await app.inject({
      url: `/api/calls/quality/worst?from=${encodeURIComponent(future)}&to=${encodeURIComponent(new Date(Date.now() + 7_200_000).toISOString())}`,
      headers: admin.headers,
    });
    expect(later.json()).toEqual({ items: [] });
    const backwards = await app.inject({
      url: `/api/calls/quality/worst?from=${encodeURIComponent(future)}`,
      headers: admin.headers,
    });
    expect(backwards.statusCode).toBe(400);
    const bad = await app.inject({ url: '/api/calls/quality/worst?from=yesterday', headers: admin.headers });
    expect(bad.statusCode).toBe(400);
  }, 60_000);
});
