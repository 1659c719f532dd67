import { createSubscriber } from '@voip/bus/pubsub';
import { createStreamProducer } from '@voip/bus/streams';
import { keys, streams } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedCall,
  answer,
  callEvents,
  connect,
  connectError,
  eventually,
  type Instance,
  offer,
  principal,
  startInstance,
  testCallStore,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(2);
let a: Instance;
let b: Instance;
let redis: Redis;
const { track } = cluster;
beforeAll(() => {
  [a, b] = cluster.instances as [Instance, Instance];
  ({ redis } = cluster);
});

describe('presence', () => {
  it('pushes online → busy → offline to contacts on any instance, keeps it in Redis, publishes presence.changed', async () => {
    const watcher = await principal(redis);
    const x = await principal(redis);
    const y = await principal(redis);
    await redis.sadd(keys.contactWatchers(x.userId), watcher.userId);
    const cw = track(await connect(b.url, { token: watcher.token }));
    const seen: { userId: string; status: string }[] = [];
    const sub = createSubscriber(redis, { source: 'presence-test' });
    await sub.on('presence.changed', (e) => {
      if (e.data.userId === x.userId) seen.push({ userId: e.data.userId, status: e.data.status });
    });
    try {
      const cx = track(await connect(a.url, { token: x.token }));
      expect(await cw.waitFor('presence', (p) => p.userId === x.userId)).toMatchObject({
        userId: x.userId,
        status: 'online',
      });
      expect(await redis.hgetall(keys.presence(x.userId))).toMatchObject({
        status: 'online',
        lastSeenAt: expect.any(String),
        kind: 'user',
      });
      // The user service answers "which devices" from the same map.
      expect(JSON.parse((await redis.hget(keys.userClients(x.userId), cx.clientId))!)).toMatchObject({
        instanceId: a.app.instanceId,
        socketId: cx.socket.id,
        connectedAt: expect.any(String),
      });

      const cy = track(await connect(b.url, { token: y.token }));
      const res = await testCallStore(redis).create({
        callerId: x.userId,
        callerKind: 'user',
        callerName: 'x',
        calleeId: y.userId,
        media: 'audio',
      });
      if (!res.ok) throw new Error('create failed');
      await cx.ack('call-user', { callId: res.call.callId, offer: offer() });
      await cy.ack('accept-call', { callId: res.call.callId, answer: answer() });
      expect(await cw.waitFor('presence', (p) => p.userId === x.userId)).toMatchObject({ status: 'busy' });
      await cx.ack('end-call', { callId: res.call.callId });
      expect(await cw.waitFor('presence', (p) => p.userId === x.userId)).toMatchObject({ status: 'online' });

      cx.close();
      expect(await cw.waitFor('presence', (p) => p.userId === x.userId)).toMatchObject({ status: 'offline' });
      expect(await redis.hget(keys.presence(x.userId), 'status')).toBe('offline');
      await eventually(() => seen.length >= 4);
      expect(seen.map((s) => s.status)).toEqual(['online', 'busy', 'online', 'offline']);
    } finally {
      await sub.close();
    }
  });
});

describe('guest connection manager', () => {
  it('guest.deleted on the account stream disconnects the guest on every instance and forgets it', async () => {
    const guest = await principal(redis, 'guest', 'Guest 1');
    const ga = track(await connect(a.url, { token: guest.token }));
    const gb = track(await connect(b.url, { token: guest.token }));
    const closedA = new Promise<string>((r) => ga.socket.once('disconnect', r));
    const closedB = new Promise<string>((r) => gb.socket.once('disconnect', r));
    await createStreamProducer(redis, 'auth-test').append(streams.accountEvents, 'guest.deleted', {
      guestIds: [guest.userId],
    });
    expect(await ga.waitFor('session-revoked')).toEqual({ reason: 'guest-deleted' });
    expect(await gb.waitFor('session-revoked')).toEqual({ reason: 'guest-deleted' });
    expect(await closedA).toBe('io server disconnect');
    expect(await closedB).toBe('io server disconnect');
    await eventually(
      async () => (await redis.exists(keys.userClients(guest.userId), keys.presence(guest.userId))) === 0,
    );
    expect(await redis.exists(keys.client(guest.userId, ga.clientId))).toBe(0);
  });

  it('times out guests that stop answering, not users', async () => {
    const quiet = await startInstance({
      PING_INTERVAL_MS: '60000',
      PING_TIMEOUT_MS: '60000',
      HEARTBEAT_INTERVAL_MS: '50',
      GUEST_PING_INTERVAL_MS: '100',
      GUEST_MAX_MISSED_PINGS: '3',
      GUEST_CONNECTION_TIMEOUT_MS: '10000',
    });
    try {
      const guest = await principal(redis, 'guest');
      const user = await principal(redis, 'user');
      const g = await connect(quiet.url, { token: guest.token });
      const u = await connect(quiet.url, { token: user.token });
      const closed = new Promise<string>((r) => g.socket.once('disconnect', r));
      expect(await closed).toBe('io server disconnect');
      expect(u.socket.connected).toBe(true);
      // Timed out like a lost network: it may resume within the window.
      expect(await redis.hget(keys.client(guest.userId, g.clientId), 'state')).toBe('reconnecting');
      u.close();
    } finally {
      await quiet.close();
    }
  });

  it('the periodic clean-up reconciles Redis, memory and sockets', async () => {
    const me = a.app.instanceId;
    // A record this instance supposedly holds, with no socket behind it (e.g. a lost disconnect).
    const ghost = await principal(redis, 'guest');
    await redis.hset(keys.client(ghost.userId, 'ghost-device'), {
      userId: ghost.userId,
      clientId: 'ghost-device',
      instanceId: me,
      socketId: 'no-such-socket-000000',
      state: 'connected',
    });
    await redis.sadd(keys.instanceClients(me), `${ghost.userId}:ghost-device`);
    // A guest whose session the auth housekeeping removed while we missed the event.
    const gone = await principal(redis, 'guest');
    const cg = track(await connect(a.url, { token: gone.token }));
    await redis.del(keys.session(gone.sessionId));

    const report = await a.app.signaling.guests.cleanup();
    expect(report.orphanedRecords).toBeGreaterThanOrEqual(1);
    expect(report.goneGuests).toBeGreaterThanOrEqual(1);
    expect(await redis.hget(keys.client(ghost.userId, 'ghost-device'), 'state')).toBe('reconnecting');
    expect(await redis.sismember(keys.instanceClients(me), `${ghost.userId}:ghost-device`)).toBe(0);
    expect(await cg.waitFor('session-revoked')).toEqual({ reason: 'guest-session-ended' });
  });

  it('the clean-up closes users too whose session is gone with no session.revoked heard', async () => {
    const p = await principal(redis);
    const phone = track(await connect(a.url, { token: p.token }));
    const tablet = track(await connect(a.url, { token: p.token }));
    const bystander = track(await connect(a.url, { token: (await principal(redis)).token }));
    const closed = [phone, tablet].map((c) => new Promise<string>((r) => c.socket.once('disconnect', r)));
    // Revoked by auth, but the pub/sub message was lost (or came before the socket registered).
    await redis.del(keys.session(p.sessionId));

    const report = await a.app.signaling.guests.cleanup();
    expect(report.revokedSockets).toBeGreaterThanOrEqual(2);
    expect(await phone.waitFor('session-revoked')).toEqual({ reason: 'session-ended' });
    expect(await tablet.waitFor('session-revoked')).toEqual({ reason: 'session-ended' });
    expect(await Promise.all(closed)).toEqual(['io server disconnect', 'io server disconnect']);
    expect(bystander.socket.connected).toBe(true);
    expect(await bystander.ack('heartbeat', {})).toMatchObject({ ok: true });
    await eventually(async () => (await redis.hlen(keys.userClients(p.userId))) === 0);
    expect((await connectError(a.url, { token: p.token, clientId: ulid() }))?.data?.code).toBe(
      'SESSION_REVOKED',
    );
  });

  it('the clean-up prunes calls whose record expired and ends accepted calls no device carries, once', async () => {
    const store = testCallStore(redis);
    const accepted = async (
      callerId: string,
      calleeId: string,
      callerDevice: string,
      calleeDevice: string,
    ) => {
      const res = await store.create({
        callerId,
        callerKind: 'user',
        callerName: 'c',
        calleeId,
        media: 'audio',
      });
      if (!res.ok) throw new Error('create failed');
      const { callId } = res.call;
      await store.recordOffer(callId, { byUserId: callerId, clientId: callerDevice, offer: offer() });
      await store.transition(callId, { type: 'accept' }, { byUserId: calleeId, clientId: calleeDevice });
      return callId;
    };
    // 1. A call whose record ran out its live TTL: only its live-calls entry is left.
    const expired = await accepted(ulid(), ulid(), 'dev-1', 'dev-2');
    await redis.del(keys.call(expired));
    // 2. An accepted call whose devices are gone for good (no device record carries it), no call.ended sent.
    const abandoned = await accepted(ulid(), ulid(), 'dev-3', 'dev-4');
    // 3. A call in progress on real sockets: never touched.
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const live = await acceptedCall(store, { x, cx }, { y, cy });

    const first = await a.app.signaling.guests.cleanup();
    expect(first.prunedCalls).toBeGreaterThanOrEqual(1);
    expect(await redis.zscore(keys.liveCalls(), expired)).toBeNull();
    // Seen unattended once: it may still be inside its resume window.
    expect((await store.get(abandoned))?.state).toBe('accepted');

    // A run past the resume window (every instance's clean-up may get there; the call ends once).
    const later = Date.now() + a.app.signaling.config.RESUME_WINDOW_MS + 1000;
    const runs = await Promise.all([
      a.app.signaling.guests.cleanup(later),
      b.app.signaling.guests.cleanup(later),
    ]);
    expect(runs[0].abandonedCalls + runs[1].abandonedCalls).toBeGreaterThanOrEqual(1);
    expect(await store.get(abandoned)).toMatchObject({ state: 'ended', endReason: 'connection-lost' });
    expect((await callEvents(redis, abandoned)).filter((e) => e.type === 'call.ended')).toHaveLength(1);
    expect(await redis.zscore(keys.liveCalls(), abandoned)).toBeNull();

    expect((await store.get(live))?.state).toBe('accepted');
    expect(await cx.ack('end-call', { callId: live })).toEqual({ ok: true });
    expect(await cy.waitFor('call-ended')).toMatchObject({ callId: live, reason: 'hangup' });
  });

  it('on start-up an instance cleans what it left behind, never another live instance entries', async () => {
    const mine = `restart-${Date.now().toString(36)}`;
    const other = b.app.instanceId;
    const plant = async (instanceId: string) => {
      const p = await principal(redis, 'guest');
      await redis.hset(keys.client(p.userId, 'device-0001'), {
        userId: p.userId,
        clientId: 'device-0001',
        instanceId,
        socketId: 'gone-socket-00000000',
        state: 'connected',
      });
      await redis.hset(
        keys.userClients(p.userId),
        'device-0001',
        JSON.stringify({ instanceId, socketId: 'gone-socket-00000000', state: 'connected' }),
      );
      await redis.sadd(keys.instanceClients(instanceId), `${p.userId}:device-0001`);
      return p;
    };
    const leftover = await plant(mine);
    const foreign = await plant(other);
    const restarted = await startInstance({ INSTANCE_ID: mine });
    try {
      expect(await redis.hget(keys.client(leftover.userId, 'device-0001'), 'state')).toBe('reconnecting');
      expect(await redis.exists(keys.instanceClients(mine))).toBe(0);
      expect(await redis.hget(keys.client(foreign.userId, 'device-0001'), 'state')).toBe('connected');
      expect(await redis.sismember(keys.instanceClients(other), `${foreign.userId}:device-0001`)).toBe(1);
    } finally {
      await restarted.close();
      await redis.srem(keys.instanceClients(other), `${foreign.userId}:device-0001`);
    }
  });
});
