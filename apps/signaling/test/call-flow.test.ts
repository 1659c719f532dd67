import { type CallStore, createCallStore } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  answer,
  callEvents,
  candidate,
  connect,
  eventually,
  type Instance,
  offer,
  principal,
  type TestClient,
  testCallStore,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(2);
let a: Instance;
let b: Instance;
let redis: Redis;
let store: CallStore;
const { track } = cluster;
beforeAll(() => {
  [a, b] = cluster.instances as [Instance, Instance];
  ({ redis, store } = cluster);
});

async function createCall(callerId: string, calleeId: string, callerName = 'Caller') {
  const res = await store.create({ callerId, callerKind: 'user', callerName, calleeId, media: 'video' });
  if (!res.ok) throw new Error(`create failed: ${res.code}`);
  return res.call;
}

describe('a call across two instances, callee on two devices', () => {
  it('rings every callee device, first accept wins, ICE flows both ways, history gets one call.ended', async () => {
    const alice = await principal(redis, 'user', 'Alice');
    const bob = await principal(redis, 'user', 'Bob');
    const caller = track(await connect(a.url, { token: alice.token }));
    const phone = track(await connect(b.url, { token: bob.token }));
    const tablet = track(await connect(b.url, { token: bob.token }));
    expect(caller.session).toMatchObject({
      resumeWindowMs: 30_000,
      heartbeatIntervalMs: 30_000,
      resumed: false,
    });
    expect(caller.session?.resumeToken).toEqual(expect.any(String));

    const call = await createCall(alice.userId, bob.userId, 'Alice');
    expect(await caller.ack('call-user', { callId: call.callId, offer: offer() })).toEqual({ ok: true });

    for (const device of [phone, tablet]) {
      const incoming = await device.waitFor('incoming-call');
      expect(incoming).toEqual({
        callId: call.callId,
        from: { id: alice.userId, displayName: 'Alice', kind: 'user' },
        media: 'video',
        offer: offer(),
        expiresAt: call.expiresAt,
      });
    }
    await caller.waitFor('call-ringing', (p) => p.callId === call.callId);

    // Both devices accept at once: exactly one wins.
    const [acceptPhone, acceptTablet] = await Promise.all([
      phone.ack('accept-call', { callId: call.callId, answer: answer('phone') }),
      tablet.ack('accept-call', { callId: call.callId, answer: answer('tablet') }),
    ]);
    const acks = [acceptPhone, acceptTablet];
    expect(acks.filter((x) => x.ok === true)).toHaveLength(1);
    expect(acks.filter((x) => x.ok === false)).toEqual([
      { ok: false, error: { code: 'INVALID_STATE', message: expect.any(String) } },
    ]);
    const [winner, loser, tag] = acceptPhone.ok ? [phone, tablet, 'phone'] : [tablet, phone, 'tablet'];

    expect(await caller.waitFor('call-accepted')).toEqual({ callId: call.callId, answer: answer(tag) });
    expect(await loser.waitFor('call-answered-elsewhere')).toEqual({ callId: call.callId });
    expect(winner.count('call-answered-elsewhere')).toBe(0);

    // ICE both ways, in order.
    for (let i = 1; i <= 3; i++)
      expect(await caller.ack('ice-candidate', { callId: call.callId, candidate: candidate(i) })).toEqual({
        ok: true,
      });
    for (let i = 1; i <= 3; i++)
      expect(await winner.waitFor('ice-candidate')).toEqual({ callId: call.callId, candidate: candidate(i) });
    expect(await winner.ack('ice-candidate', { callId: call.callId, candidate: candidate(9) })).toEqual({
      ok: true,
    });
    expect(await winner.ack('ice-candidate', { callId: call.callId, candidate: null })).toEqual({ ok: true });
    expect(await caller.waitFor('ice-candidate')).toEqual({ callId: call.callId, candidate: candidate(9) });
    expect(await caller.waitFor('ice-candidate')).toEqual({ callId: call.callId, candidate: null });
    // The device that lost the accept is out of the call.
    expect(await loser.ack('ice-candidate', { callId: call.callId, candidate: candidate(5) })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });

    // ICE restart after a network change.
    const description = { type: 'offer' as const, sdp: 'v=0\r\na=ice-options:trickle renomination\r\n' };
    expect(await caller.ack('renegotiate', { callId: call.callId, description })).toEqual({ ok: true });
    expect(await winner.waitFor('renegotiate')).toEqual({ callId: call.callId, description });

    expect(await winner.ack('end-call', { callId: call.callId, reason: 'hangup' })).toEqual({ ok: true });
    const ended = await caller.waitFor('call-ended');
    expect(ended).toMatchObject({ callId: call.callId, reason: 'hangup' });
    expect(ended.durationMs).toEqual(expect.any(Number));
    await winner.waitFor('call-ended', (p) => p.callId === call.callId);
    // A retried end is harmless.
    expect(await caller.ack('end-call', { callId: call.callId })).toEqual({ ok: true });

    const events = await callEvents(redis, call.callId);
    expect(events.map((e) => e.type)).toEqual(['call.created', 'call.accepted', 'call.ended']);
    expect(events[2]?.data).toMatchObject({
      outcome: 'answered',
      endReason: 'hangup',
      callerId: alice.userId,
      calleeId: bob.userId,
    });
    expect(await redis.get(keys.userCall(alice.userId))).toBeNull();
  });
});

describe('call rules', () => {
  it('glare: both users learn which call survives', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const first = await createCall(x.userId, y.userId);
    expect(await cx.ack('call-user', { callId: first.callId, offer: offer('x') })).toEqual({ ok: true });
    await cy.waitFor('incoming-call');
    // y calls x before answering: the existing (lower) call survives, the new one is ended and replaced.
    const crossing = await store.create({
      callerId: y.userId,
      callerKind: 'user',
      callerName: 'y',
      calleeId: x.userId,
      media: 'audio',
    });
    expect(crossing).toMatchObject({
      ok: true,
      survivingCallId: first.callId,
      call: { state: 'ended', replacedBy: first.callId },
    });
    if (!crossing.ok) return;
    expect(await cy.waitFor('call-ended', (p) => p.callId === crossing.call.callId)).toMatchObject({
      reason: 'cancelled',
      replacedBy: first.callId,
    });
    expect(await cy.ack('call-user', { callId: crossing.call.callId, offer: offer('y') })).toMatchObject({
      ok: false,
      error: { code: 'INVALID_STATE' },
    });
    expect(await cy.ack('accept-call', { callId: first.callId, answer: answer('y') })).toEqual({ ok: true });
    await cx.waitFor('call-accepted', (p) => p.callId === first.callId);
  });

  it('glare where the new call wins: the old one ends as cancelled on both sides, replaced by the new', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const first = await createCall(x.userId, y.userId);
    await cx.ack('call-user', { callId: first.callId, offer: offer('x') });
    const low = createCallStore(redis, { producerSource: 'test', newCallId: () => `0${ulid()}` });
    const res = await low.create({
      callerId: y.userId,
      callerKind: 'user',
      callerName: 'y',
      calleeId: x.userId,
      media: 'audio',
    });
    expect(res).toMatchObject({ ok: true, call: { state: 'ringing' } });
    if (!res.ok) return;
    for (const c of [cx, cy])
      expect(await c.waitFor('call-ended', (p) => p.callId === first.callId)).toMatchObject({
        reason: 'cancelled',
        replacedBy: res.call.callId,
      });
    expect(await cy.ack('call-user', { callId: res.call.callId, offer: offer('y') })).toEqual({ ok: true });
    await cx.waitFor('incoming-call', (p) => p.callId === res.call.callId);
  });

  it('ring time-out ends the call as no-answer for both sides', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const shortStore = testCallStore(redis, 300);
    const res = await shortStore.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: 'x',
      calleeId: y.userId,
      media: 'audio',
    });
    if (!res.ok) throw new Error('create failed');
    await cx.ack('call-user', { callId: res.call.callId, offer: offer() });
    await cy.waitFor('incoming-call');
    for (const c of [cx, cy])
      expect(await c.waitFor('call-ended', (p) => p.callId === res.call.callId)).toEqual({
        callId: res.call.callId,
        reason: 'no-answer',
        durationMs: 0,
      });
    const events = await callEvents(redis, res.call.callId);
    expect(events.filter((e) => e.type === 'call.ended')).toHaveLength(1);
    expect(events.at(-1)?.data).toMatchObject({ outcome: 'missed' });
  });

  it('reject: the caller gets call-rejected, everyone call-ended', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const cy2 = track(await connect(a.url, { token: y.token }));
    const call = await createCall(x.userId, y.userId);
    await cx.ack('call-user', { callId: call.callId, offer: offer() });
    await cy.waitFor('incoming-call');
    await cy2.waitFor('incoming-call');
    expect(await cy.ack('reject-call', { callId: call.callId, reason: 'declined' })).toEqual({ ok: true });
    expect(await cx.waitFor('call-rejected')).toEqual({ callId: call.callId, reason: 'rejected' });
    expect(await cx.waitFor('call-ended')).toMatchObject({ callId: call.callId, reason: 'rejected' });
    expect(await cy2.waitFor('call-ended')).toMatchObject({ callId: call.callId, reason: 'rejected' });
    expect((await callEvents(redis, call.callId)).at(-1)?.data).toMatchObject({ outcome: 'rejected' });
  });

  it('cancel before answer', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const call = await createCall(x.userId, y.userId);
    await cx.ack('call-user', { callId: call.callId, offer: offer() });
    await cy.waitFor('incoming-call');
    expect(await cx.ack('end-call', { callId: call.callId, reason: 'cancelled' })).toEqual({ ok: true });
    expect(await cy.waitFor('call-ended')).toEqual({
      callId: call.callId,
      reason: 'cancelled',
      durationMs: 0,
    });
    expect((await callEvents(redis, call.callId)).at(-1)?.data).toMatchObject({ outcome: 'cancelled' });
  });

  it('busy: a callee in a call on another device cannot be called', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const z = await principal(redis);
    const cy = track(await connect(b.url, { token: y.token }));
    const cz = track(await connect(a.url, { token: z.token }));
    const call = await createCall(z.userId, y.userId);
    await cz.ack('call-user', { callId: call.callId, offer: offer() });
    await cy.waitFor('incoming-call');
    await cy.ack('accept-call', { callId: call.callId, answer: answer() });
    const res = await store.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: 'x',
      calleeId: y.userId,
      media: 'audio',
    });
    expect(res).toMatchObject({ ok: false, code: 'CALLEE_BUSY' });
    await eventually(async () => (await redis.hget(keys.presence(y.userId), 'status')) === 'busy');
    // A callee device may also answer "busy" to a ringing call.
    const w = await principal(redis);
    const cw = track(await connect(a.url, { token: w.token }));
    const c2 = await createCall(w.userId, x.userId);
    const cx = track(await connect(b.url, { token: x.token }));
    await cw.ack('call-user', { callId: c2.callId, offer: offer() });
    await cx.waitFor('incoming-call');
    expect(await cx.ack('reject-call', { callId: c2.callId, reason: 'busy' })).toEqual({ ok: true });
    expect(await cw.waitFor('call-ended')).toMatchObject({ callId: c2.callId, reason: 'busy' });
  });

  it('a third user cannot inject ICE or end someone else call (FORBIDDEN)', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const eve = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const cy = track(await connect(b.url, { token: y.token }));
    const ce = track(await connect(b.url, { token: eve.token }));
    const call = await createCall(x.userId, y.userId);
    await cx.ack('call-user', { callId: call.callId, offer: offer() });
    await cy.ack('accept-call', { callId: call.callId, answer: answer() });
    for (const [event, payload] of [
      ['ice-candidate', { callId: call.callId, candidate: candidate(66) }],
      ['renegotiate', { callId: call.callId, description: offer('evil') }],
      ['end-call', { callId: call.callId }],
      ['accept-call', { callId: call.callId, answer: answer('evil') }],
      ['call-user', { callId: call.callId, offer: offer('evil') }],
    ] as const)
      expect(await ce.ack(event, payload)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ce.ack('ice-candidate', { callId: ulid(), candidate: candidate(1) })).toMatchObject({
      ok: false,
      error: { code: 'CALL_NOT_FOUND' },
    });
    expect(cx.count('ice-candidate') + cy.count('ice-candidate')).toBe(0);
    expect((await store.get(call.callId))?.state).toBe('accepted');
  });

  it('once accepted, only the two devices in the call can end it; the other devices get FORBIDDEN', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const laptop = track(await connect(b.url, { token: x.token }));
    const phone = track(await connect(b.url, { token: y.token }));
    const tablet = track(await connect(a.url, { token: y.token }));
    const call = await createCall(x.userId, y.userId);
    await cx.ack('call-user', { callId: call.callId, offer: offer() });
    await tablet.waitFor('incoming-call');
    expect(await phone.ack('accept-call', { callId: call.callId, answer: answer() })).toEqual({ ok: true });
    await tablet.waitFor('call-answered-elsewhere');

    for (const device of [tablet, laptop])
      for (const reason of ['hangup', 'cancelled'] as const)
        expect(await device.ack('end-call', { callId: call.callId, reason })).toEqual({
          ok: false,
          error: { code: 'FORBIDDEN', message: 'the call is on another device' },
        });
    expect((await store.get(call.callId))?.state).toBe('accepted');
    // The call goes on between its two devices, and ends when one of them hangs up.
    expect(await cx.ack('ice-candidate', { callId: call.callId, candidate: candidate(3) })).toEqual({
      ok: true,
    });
    expect(await phone.waitFor('ice-candidate')).toEqual({ callId: call.callId, candidate: candidate(3) });
    expect(cx.count('call-ended') + phone.count('call-ended')).toBe(0);
    expect(await cx.ack('end-call', { callId: call.callId })).toEqual({ ok: true });
    expect(await phone.waitFor('call-ended')).toMatchObject({ callId: call.callId, reason: 'hangup' });
    expect((await callEvents(redis, call.callId)).filter((e) => e.type === 'call.ended')).toHaveLength(1);
  });

  it('malformed payloads get ok:false and the socket stays up', async () => {
    const x = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const bad: [string, unknown][] = [
      ['call-user', { callId: 'x' }],
      ['call-user', 'not an object'],
      ['ice-candidate', { callId: ulid(), candidate: { candidate: 5 } }],
      ['accept-call', { callId: ulid(), answer: { type: 'offer', sdp: 'v=0' } }],
      ['end-call', { callId: ulid(), reason: 'because', extra: true }],
      ['renegotiate', null],
      ['reject-call', { callId: '../../etc' }],
    ];
    for (const [event, payload] of bad)
      expect(await cx.ack(event, payload)).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED', message: expect.any(String) },
      });
    expect(await cx.ack('no-such-event', {})).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(cx.socket.connected).toBe(true);
    expect(await cx.ack('heartbeat', {})).toEqual({ ok: true, serverTime: expect.any(String) });
  });
});

describe('a callee device that was away while it rang', () => {
  /** y's phone on b and tablet on a both ring for x's call; then the tablet loses its network. */
  async function ringingThenTabletAway() {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = track(await connect(a.url, { token: x.token }));
    const phone = track(await connect(b.url, { token: y.token }));
    const tablet = track(await connect(a.url, { token: y.token }));
    const call = await createCall(x.userId, y.userId);
    expect(await cx.ack('call-user', { callId: call.callId, offer: offer() })).toEqual({ ok: true });
    await phone.waitFor('incoming-call');
    await tablet.waitFor('incoming-call');
    tablet.socket.io.engine.close();
    await eventually(
      async () => (await redis.hget(keys.client(y.userId, tablet.clientId), 'state')) === 'reconnecting',
    );
    const resumeTablet = async (t: TestClient, on: Instance) => {
      const back = track(
        await connect(on.url, { token: y.token, clientId: t.clientId, resumeToken: t.session!.resumeToken }),
      );
      expect(back.session?.resumed).toBe(true);
      await back.ack('heartbeat', {}); // its registration (and all it is told on resume) is done
      return back;
    };
    return { x, y, cx, phone, tablet, callId: call.callId, resumeTablet };
  }

  it('answered on another device meanwhile: on resume it gets call-answered-elsewhere, later one call-ended', async () => {
    const { cx, phone, tablet, callId, resumeTablet } = await ringingThenTabletAway();
    expect(await phone.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
    await cx.waitFor('call-accepted');

    const back = await resumeTablet(tablet, b);
    expect(await back.waitFor('call-answered-elsewhere')).toEqual({ callId });
    expect(back.count('incoming-call')).toBe(0);
    expect(back.count('call-ended')).toBe(0);

    expect(await phone.ack('end-call', { callId })).toEqual({ ok: true });
    expect(await back.waitFor('call-ended')).toMatchObject({ callId, reason: 'hangup' });
    await back.ack('heartbeat', {});

    // It heard the end live: away and back again, it is not told a second time.
    back.socket.io.engine.close();
    const again = await resumeTablet(back, a);
    expect(
      again.count('call-ended') + again.count('call-answered-elsewhere') + again.count('incoming-call'),
    ).toBe(0);
  });

  it('answered elsewhere and ended meanwhile: on resume it gets both, in that order, once', async () => {
    const { cx, phone, tablet, callId, resumeTablet } = await ringingThenTabletAway();
    expect(await phone.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
    await cx.waitFor('call-accepted');
    expect(await cx.ack('end-call', { callId })).toEqual({ ok: true });
    await phone.waitFor('call-ended');

    const back = await resumeTablet(tablet, b);
    const told = back.received.filter((r) => r.event.startsWith('call-') || r.event === 'incoming-call');
    expect(told.map((r) => r.event)).toEqual(['call-answered-elsewhere', 'call-ended']);
    expect(told[1]?.payload).toEqual({ callId, reason: 'hangup', durationMs: expect.any(Number) });
  });

  it('cancelled by the caller meanwhile: on resume it gets call-ended, not the call again', async () => {
    const { cx, phone, tablet, callId, resumeTablet } = await ringingThenTabletAway();
    expect(await cx.ack('end-call', { callId, reason: 'cancelled' })).toEqual({ ok: true });
    await phone.waitFor('call-ended');

    const back = await resumeTablet(tablet, a);
    expect(await back.waitFor('call-ended')).toEqual({ callId, reason: 'cancelled', durationMs: 0 });
    expect(back.count('incoming-call') + back.count('call-ended')).toBe(0);
  });

  it('replaced in glare meanwhile: the call-ended it gets on resume names the call that replaced it', async () => {
    const { x, y, phone, tablet, callId, resumeTablet } = await ringingThenTabletAway();
    const low = createCallStore(redis, { producerSource: 'test', newCallId: () => `0${ulid()}` });
    const crossing = await low.create({
      callerId: y.userId,
      callerKind: 'user',
      callerName: 'y',
      calleeId: x.userId,
      media: 'audio',
    });
    if (!crossing.ok) throw new Error('create failed');
    await phone.waitFor('call-ended', (p) => p.callId === callId);

    const back = await resumeTablet(tablet, b);
    expect(await back.waitFor('call-ended')).toEqual({
      callId,
      reason: 'cancelled',
      durationMs: 0,
      replacedBy: crossing.call.callId,
    });
  });
});
