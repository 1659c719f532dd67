// `call-quality` (issue 19) on real instances: accepted summaries reach the call-events stream (the call
// service's input) and step / poor changes reach the peer as `peer-quality`; summaries from a stranger,
// from the other device of a participant, before the answer, malformed or flooding are refused with
// API.md's codes and nothing reaches the stream; each socket's heartbeat round trip is measured.
import type { CallStore } from '@voip/call-state/call-store';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedCall,
  callEvents,
  connect,
  eventually,
  type Instance,
  offer,
  principal,
  useCluster,
} from './support/cluster.js';

// Fast engine.io pings so the RTT histogram fills within the test; 2 instances: peers on different ones.
const cluster = useCluster(2, { PING_INTERVAL_MS: '200', PING_TIMEOUT_MS: '5000' });
let a: Instance;
let b: Instance;
let redis: Redis;
let store: CallStore;
const { track } = cluster;
beforeAll(() => {
  [a, b] = cluster.instances as [Instance, Instance];
  ({ redis, store } = cluster);
});

const summary = (callId: string, seq: number, extra: Record<string, unknown> = {}) => ({
  callId,
  seq,
  intervalMs: 2000,
  rttMs: 30,
  jitterMs: 2,
  packetLossInPct: 0,
  packetLossOutPct: 0,
  bitrateKbps: { audioIn: 32, audioOut: 32 },
  path: { local: 'host', remote: 'srflx', transport: 'udp' },
  timeToMediaMs: 400,
  step: '720p',
  ...extra,
});
const qualityEvents = async (callId: string) =>
  (await callEvents(redis, callId)).filter((e) => e.type === 'call.quality');

async function setUp() {
  const x = await principal(redis, 'user', 'X');
  const y = await principal(redis, 'user', 'Y');
  const cx = track(await connect(a.url, { token: x.token }));
  const cy = track(await connect(b.url, { token: y.token }));
  const callId = await acceptedCall(store, { x, cx }, { y, cy });
  return { x, y, cx, cy, callId };
}

describe('call-quality', () => {
  it('an accepted summary goes to the stream with its side; step and poor changes reach the peer', async () => {
    const { x, y, cx, cy, callId } = await setUp();
    expect(await cx.ack('call-quality', summary(callId, 1))).toEqual({ ok: true });
    expect(await cy.waitFor('peer-quality', (p) => p.callId === callId)).toEqual({
      callId,
      step: '720p',
      poor: false,
    });
    expect(await cy.ack('call-quality', summary(callId, 1, { step: '1080p' }))).toEqual({ ok: true });
    expect(await cx.waitFor('peer-quality')).toEqual({ callId, step: '1080p', poor: false });

    await eventually(async () => (await qualityEvents(callId)).length === 2);
    const events = await qualityEvents(callId);
    expect(events.map((e) => [e.data.side, e.data.userId, e.data.clientId])).toEqual([
      ['caller', x.userId, cx.clientId],
      ['callee', y.userId, cy.clientId],
    ]);
    expect(events[0]!.data.summary).toEqual(summary(callId, 1));

    // Same step, now lossy: "poor" (estimated MOS under 3.1) reaches the peer; a repeat seq is ignored.
    await new Promise((r) => setTimeout(r, 1100));
    expect(await cx.ack('call-quality', summary(callId, 2, { packetLossInPct: 25 }))).toEqual({ ok: true });
    expect(await cy.waitFor('peer-quality')).toEqual({ callId, step: '720p', poor: true });
    expect(await cx.ack('call-quality', summary(callId, 2))).toEqual({ ok: true, duplicate: true });
    // A final summary passes the per-call interval once, and is taken after the end too.
    expect(await cx.ack('end-call', { callId })).toEqual({ ok: true });
    expect(await cx.ack('call-quality', summary(callId, 3, { final: true }))).toEqual({ ok: true });
    expect(await cy.ack('call-quality', summary(callId, 2))).toMatchObject({
      ok: false,
      error: { code: 'INVALID_STATE' },
    });
    expect(await qualityEvents(callId)).toHaveLength(4);
    expect(cy.count('peer-quality')).toBe(0);
  });

  it('refuses strangers, the other device, unanswered calls, bad payloads and floods; nothing is stored', async () => {
    const { y, cx, cy, callId } = await setUp();
    const stranger = await principal(redis, 'user', 'Z');
    const cz = track(await connect(a.url, { token: stranger.token }));
    const otherDevice = track(await connect(b.url, { token: y.token }));
    const unknown = '01JD3Y4Q8W6S7T9V0X1Z2A3B4C';
    const refused = async (c: typeof cx, payload: unknown, code: string) =>
      expect(await c.ack('call-quality', payload)).toEqual({
        ok: false,
        error: { code, message: expect.any(String) },
      });

    await refused(cz, summary(callId, 1), 'FORBIDDEN');
    await refused(otherDevice, summary(callId, 1), 'FORBIDDEN');
    await refused(cx, summary(unknown, 1), 'CALL_NOT_FOUND');
    await refused(cx, { ...summary(callId, 1), extra: 'smuggled' }, 'VALIDATION_FAILED');
    await refused(cx, summary(callId, 1, { packetLossInPct: 250 }), 'VALIDATION_FAILED');
    await refused(
      cx,
      summary(callId, 1, { path: { local: 'host', remote: 'host', transport: 'quic' } }),
      'VALIDATION_FAILED',
    );
    await refused(cx, { callId, seq: 1 }, 'VALIDATION_FAILED');

    // Ringing, not answered yet: no media to report.
    const w = await principal(redis, 'user', 'W');
    const cw = track(await connect(a.url, { token: w.token }));
    const ringing = await store.create({
      callerId: w.userId,
      callerKind: 'user',
      callerName: 'x',
      calleeId: stranger.userId,
      media: 'audio',
    });
    if (!ringing.ok) throw new Error('create failed');
    expect(await cw.ack('call-user', { callId: ringing.call.callId, offer: offer() })).toEqual({ ok: true });
    await refused(cw, summary(ringing.call.callId, 1), 'INVALID_STATE');
    expect(await qualityEvents(ringing.call.callId)).toEqual([]);

    // A flood: the first is taken, the rest inside the interval are refused.
    const acks = await Promise.all(
      Array.from({ length: 5 }, (_, i) => cx.ack('call-quality', summary(callId, i + 1))),
    );
    expect(acks[0]).toEqual({ ok: true });
    for (const r of acks.slice(1)) expect(r).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED' } });
    expect(await qualityEvents(callId)).toHaveLength(1);
    expect(cy.count('peer-quality')).toBe(1);
    expect(otherDevice.count('peer-quality')).toBe(0);

    const metrics = (await a.app.inject('/metrics')).body;
    expect(metrics).toMatch(/signaling_rejected_messages_total\{reason="RATE_LIMITED"[^}]*\} [1-9]/);
    expect(metrics).toMatch(/signaling_quality_summaries_total\{[^}]*\} [1-9]/);
  });

  it("measures each socket's heartbeat round trip into a histogram", async () => {
    track(await connect(b.url, { token: (await principal(redis, 'user', 'R')).token }));
    const count = await eventually(async () => {
      const body = (await b.app.inject('/metrics')).body;
      const m = /^signaling_socket_rtt_seconds_count\{[^}]*\} (\d+)/m.exec(body);
      return m && Number(m[1]) >= 2 ? Number(m[1]) : null;
    });
    expect(count).toBeGreaterThanOrEqual(2);
    const body = (await b.app.inject('/metrics')).body;
    expect(body).toMatch(/signaling_socket_rtt_seconds_bucket\{le="5"[^}]*\} [1-9]/);
    expect(body).not.toMatch(/signaling_socket_rtt_seconds_bucket\{[^}]*call/);
  });
});
