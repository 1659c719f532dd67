import type { CallStore } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedCall,
  answer,
  callEvents,
  candidate,
  connect,
  eventually,
  type Instance,
  offer,
  type Principal,
  principal,
  startInstance,
  sleep,
  type TestClient,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(2, { RESUME_WINDOW_MS: '1500' });
let a: Instance;
let b: Instance;
let redis: Redis;
let store: CallStore;
const { track } = cluster;
beforeAll(() => {
  [a, b] = cluster.instances as [Instance, Instance];
  ({ redis, store } = cluster);
});

/** Caller on instance a, callee on instance b, call accepted. */
async function callInProgress(): Promise<{
  x: Principal;
  y: Principal;
  cx: TestClient;
  cy: TestClient;
  callId: string;
}> {
  const x = await principal(redis);
  const y = await principal(redis);
  const cx = track(await connect(a.url, { token: x.token }));
  const cy = track(await connect(b.url, { token: y.token }));
  const callId = await acceptedCall(store, { x, cx }, { y, cy });
  return { x, y, cx, cy, callId };
}

describe('resume', () => {
  it('a dropped caller resumes on the OTHER instance and gets what was sent meanwhile, in order', async () => {
    const { x, cx, cy, callId } = await callInProgress();
    const resumeToken = cx.session!.resumeToken;
    const sessionId = cx.session!.sessionId;

    cx.socket.io.engine.close(); // the network drops
    expect(await cy.waitFor('peer-reconnecting')).toEqual({ callId });
    for (let i = 1; i <= 4; i++)
      expect(await cy.ack('ice-candidate', { callId, candidate: candidate(i) })).toEqual({ ok: true });
    const restart = { type: 'offer' as const, sdp: 'v=0\r\na=ice-restart\r\n' };
    expect(await cy.ack('renegotiate', { callId, description: restart })).toEqual({ ok: true });

    const back = track(await connect(b.url, { token: x.token, clientId: cx.clientId, resumeToken }));
    expect(back.session).toMatchObject({ resumed: true, sessionId });
    expect(back.session?.resumeToken).not.toBe(resumeToken);
    const got = back.received
      .filter((r) => r.event === 'ice-candidate' || r.event === 'renegotiate')
      .map((r) => r.payload);
    expect(got).toEqual([
      { callId, candidate: candidate(1) },
      { callId, candidate: candidate(2) },
      { callId, candidate: candidate(3) },
      { callId, candidate: candidate(4) },
      { callId, description: restart },
    ]);
    expect(await cy.waitFor('peer-reconnected')).toEqual({ callId });

    // The call goes on from the new instance, both ways.
    expect(await back.ack('ice-candidate', { callId, candidate: candidate(7) })).toEqual({ ok: true });
    expect(await cy.waitFor('ice-candidate')).toEqual({ callId, candidate: candidate(7) });
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(8) })).toEqual({ ok: true });
    expect(
      await back.waitFor(
        'ice-candidate',
        (p) => (p.candidate as { candidate: string } | null)?.candidate === candidate(8).candidate,
      ),
    ).toBeTruthy();
    expect(await redis.hget(keys.client(x.userId, cx.clientId), 'instanceId')).toBe(b.app.instanceId);
    expect((await store.get(callId))?.state).toBe('accepted');

    // The old resume token is spent.
    back.close();
    await cy.waitFor('peer-reconnecting');
    const replay = track(await connect(a.url, { token: x.token, clientId: cx.clientId, resumeToken }));
    expect(replay.session?.resumed).toBe(false);
  });

  it('past the window the call ends with connection-lost, and a late resume is refused', async () => {
    const { x, cx, cy, callId } = await callInProgress();
    const resumeToken = cx.session!.resumeToken;
    cx.socket.io.engine.close();
    await cy.waitFor('peer-reconnecting');
    expect(await cy.waitFor('call-ended', () => true, 10_000)).toMatchObject({
      callId,
      reason: 'connection-lost',
    });
    const ended = (await callEvents(redis, callId)).filter((e) => e.type === 'call.ended');
    expect(ended).toHaveLength(1);
    expect(ended[0]?.data).toMatchObject({
      endReason: 'connection-lost',
      outcome: 'answered',
      endedBy: x.userId,
    });
    await eventually(async () => (await redis.exists(keys.client(x.userId, cx.clientId))) === 0);

    const late = track(await connect(a.url, { token: x.token, clientId: cx.clientId, resumeToken }));
    expect(late.session?.resumed).toBe(false);
    const metrics = (await a.app.inject('/metrics')).body + (await b.app.inject('/metrics')).body;
    expect(metrics).toMatch(/signaling_resumes_total\{result="failure"[^}]*\} [1-9]/);
  });

  it('a device that resumes after its call ended elsewhere is told so', async () => {
    const { cx, cy, callId, x } = await callInProgress();
    const resumeToken = cx.session!.resumeToken;
    cx.socket.io.engine.close();
    await cy.waitFor('peer-reconnecting');
    expect(await cy.ack('end-call', { callId })).toEqual({ ok: true });
    const back = track(await connect(b.url, { token: x.token, clientId: cx.clientId, resumeToken }));
    expect(back.session?.resumed).toBe(true);
    expect(await back.waitFor('call-ended')).toMatchObject({ callId, reason: 'hangup' });
  });

  it('a phone woken by a push that connects fresh after the call ended gets call-ended at once', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const created = await store.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: x.displayName,
      calleeId: y.userId,
      media: 'audio',
    });
    if (!created.ok) throw new Error('create failed');
    const { callId } = created.call;
    // What the call service writes once a wake-up push reached y's phones.
    await redis.set(keys.pushWokenCall(y.userId), callId, 'PX', 60_000);
    expect((await store.transition(callId, { type: 'cancel' }, { byUserId: x.userId })).ok).toBe(true);
    const late = track(await connect(a.url, { token: y.token }));
    expect(late.session?.resumed).toBe(false);
    expect(await late.waitFor('call-ended')).toMatchObject({ callId, reason: 'cancelled' });
    // A call still ringing is offered, not ended.
    const ringing = await store.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: x.displayName,
      calleeId: y.userId,
      media: 'audio',
    });
    if (!ringing.ok) throw new Error('create failed');
    await redis.set(keys.pushWokenCall(y.userId), ringing.call.callId, 'PX', 60_000);
    const fresh = track(await connect(b.url, { token: y.token }));
    await sleep(300);
    expect(fresh.count('call-ended')).toBe(0);
  });

  it('a fresh session (no resume token) of the device carrying a call ends that call', async () => {
    const { x, cx, cy, callId } = await callInProgress();
    cx.socket.io.engine.close();
    await cy.waitFor('peer-reconnecting');
    track(await connect(a.url, { token: x.token, clientId: cx.clientId }));
    expect(await cy.waitFor('call-ended')).toMatchObject({ callId, reason: 'connection-lost' });
  });

  it('a callee device that resumes while the call rings gets it again; the caller hears call-ringing once', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const phone = track(await connect(b.url, { token: y.token }));
    const res = await store.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: 'x',
      calleeId: y.userId,
      media: 'audio',
    });
    if (!res.ok) throw new Error('create failed');
    const callId = res.call.callId;
    expect(await cx.ack('call-user', { callId, offer: offer() })).toEqual({ ok: true });
    const first = await phone.waitFor('incoming-call');
    await eventually(() => cx.count('call-ringing') === 1);

    // The phone loses its network before answering; the caller's ICE goes on meanwhile.
    phone.socket.io.engine.close();
    await eventually(
      async () => (await redis.hget(keys.client(y.userId, phone.clientId), 'state')) === 'reconnecting',
    );
    expect(await cx.ack('ice-candidate', { callId, candidate: candidate(31) })).toEqual({ ok: true });

    const back = track(
      await connect(a.url, {
        token: y.token,
        clientId: phone.clientId,
        resumeToken: phone.session!.resumeToken,
      }),
    );
    expect(back.session?.resumed).toBe(true);
    expect(await back.waitFor('incoming-call')).toEqual(first);
    expect(await back.waitFor('ice-candidate')).toEqual({ callId, candidate: candidate(31) });
    await back.ack('heartbeat', {}); // its registration (and whatever it sends the caller) is done

    // Another callee device connects fresh: it rings too, but the caller is not told "ringing" again.
    const tablet = track(await connect(b.url, { token: y.token }));
    expect(await tablet.waitFor('incoming-call')).toEqual(first);
    expect(await tablet.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
    // call-accepted leaves instance b after anything b sent the caller on the tablet's connect.
    await cx.waitFor('call-accepted');
    expect(await back.waitFor('call-answered-elsewhere')).toEqual({ callId });
    expect(cx.count('call-ringing')).toBe(1);
  });

  it('the same device connecting twice: the newer connection wins', async () => {
    const x = await principal(redis);
    const first = track(await connect(a.url, { token: x.token }));
    const disconnected = new Promise<string>((r) => first.socket.once('disconnect', r));
    const second = track(
      await connect(b.url, {
        token: x.token,
        clientId: first.clientId,
        resumeToken: first.session!.resumeToken,
      }),
    );
    expect(second.session?.resumed).toBe(true);
    expect(await disconnected).toBe('io server disconnect');
    await eventually(
      async () => (await redis.hget(keys.client(x.userId, first.clientId), 'socketId')) === second.socket.id,
    );
    expect(await redis.hget(keys.client(x.userId, first.clientId), 'state')).toBe('connected');
  });
});

describe('an instance taken for dead while it was alive (heartbeat lapsed: a long GC pause, a Redis blip)', () => {
  // Heartbeats only when a test asks (beat()), so nothing but the test makes the key lapse or come back.
  const manual = { INSTANCE_HEARTBEAT_MS: '600000', INSTANCE_TTL_MS: '600000' };
  let paused: Instance;
  let reaper: Instance;
  beforeAll(async () => {
    [paused, reaper] = await Promise.all([startInstance(manual), startInstance(manual)]);
    return async () => {
      await Promise.all([paused.close(), reaper.close()]);
    };
  });

  async function callAcross() {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(paused.url, { token: x.token }));
    const cy = track(await connect(reaper.url, { token: y.token }));
    const callId = await acceptedCall(store, { x, cx }, { y, cy });
    return { x, cx, cy, callId };
  }
  const candidateOf = (n: number) => (p: Record<string, unknown>) =>
    (p.candidate as { candidate: string } | null)?.candidate === candidate(n).candidate;

  it('reaped by another instance, it takes its clients back on the next beat and the call goes on', async () => {
    const { x, cx, cy, callId } = await callAcross();
    const record = keys.client(x.userId, cx.clientId);

    // The paused instance's key lapses; another instance's reaper moves its clients to reconnecting.
    await redis.del(keys.instance(paused.app.instanceId));
    await reaper.app.signaling.instances.beat();
    expect(await cy.waitFor('peer-reconnecting')).toEqual({ callId });
    expect(await redis.hget(record, 'state')).toBe('reconnecting');
    // The caller's socket never closed, but what the peer sends now is queued for a "resume".
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(41) })).toEqual({ ok: true });
    expect(cx.socket.connected).toBe(true);

    // Its next beat notices it was taken for dead and re-claims the device: queue flushed, peer told.
    await paused.app.signaling.instances.beat();
    expect(await cx.waitFor('ice-candidate', candidateOf(41))).toEqual({ callId, candidate: candidate(41) });
    expect(await cy.waitFor('peer-reconnected')).toEqual({ callId });
    expect(await redis.hmget(record, 'state', 'instanceId', 'socketId')).toEqual([
      'connected',
      paused.app.instanceId,
      cx.socket.id,
    ]);
    expect(await redis.zscore(keys.resumeDeadlines(), `${x.userId}:${cx.clientId}`)).toBeNull();
    expect(
      await redis.sismember(keys.instanceClients(paused.app.instanceId), `${x.userId}:${cx.clientId}`),
    ).toBe(1);

    // Live again, both ways, and the call is still up.
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(42) })).toEqual({ ok: true });
    expect(await cx.waitFor('ice-candidate', candidateOf(42))).toEqual({ callId, candidate: candidate(42) });
    expect(await cx.ack('ice-candidate', { callId, candidate: candidate(43) })).toEqual({ ok: true });
    expect(await cy.waitFor('ice-candidate', candidateOf(43))).toEqual({ callId, candidate: candidate(43) });
    expect((await store.get(callId))?.state).toBe('accepted');
    expect(cx.count('call-ended')).toBe(0);
  });

  it('a reaper that finds the instance beating again claims none of its clients', async () => {
    const { x, cx } = await callAcross();
    const member = `${x.userId}:${cx.clientId}`;
    // The reaper decided "dead" a moment ago, but the instance's heartbeat is back by the time it claims.
    const moved = await reaper.app.signaling.instances.orphanClientsOf(paused.app.instanceId, {
      reaping: true,
    });
    expect(moved).toBe(0);
    expect(await redis.hget(keys.client(x.userId, cx.clientId), 'state')).toBe('connected');
    expect(await redis.sismember(keys.instanceClients(paused.app.instanceId), member)).toBe(1);
  });

  it('a lapse nobody reaped yet: what was queued for its devices meanwhile arrives after the next beat', async () => {
    const { cx, cy, callId } = await callAcross();
    await redis.del(keys.instance(paused.app.instanceId));
    // The relay treats a device on an instance without heartbeat as away and queues for it.
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(51) })).toEqual({ ok: true });
    await paused.app.signaling.instances.beat();
    expect(await cx.waitFor('ice-candidate', candidateOf(51))).toEqual({ callId, candidate: candidate(51) });
    expect(await cy.ack('ice-candidate', { callId, candidate: candidate(52) })).toEqual({ ok: true });
    expect(await cx.waitFor('ice-candidate', candidateOf(52))).toEqual({ callId, candidate: candidate(52) });
    expect((await store.get(callId))?.state).toBe('accepted');
  });
});
