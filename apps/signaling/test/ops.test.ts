import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  answer,
  connect,
  type Instance,
  offer,
  principal,
  testCallStore,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(1);
let inst: Instance;
let redis: Redis;
beforeAll(() => {
  [inst] = cluster.instances as [Instance];
  ({ redis } = cluster);
});

describe('operations endpoints', () => {
  it('GET /status counts this instance and the cluster', async () => {
    const user = await principal(redis, 'user');
    const guest = await principal(redis, 'guest');
    const c1 = await connect(inst.url, { token: user.token });
    const c2 = await connect(inst.url, { token: user.token });
    const c3 = await connect(inst.url, { token: guest.token });
    const res = await inst.app.inject('/status');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      instanceId: inst.app.instanceId,
      status: 'running',
      connections: 3,
      users: 2,
      guests: 1,
      activeCalls: expect.any(Number),
      calls: { ringing: expect.any(Number), accepted: expect.any(Number) },
      reconnecting: expect.any(Number),
      instances: expect.any(Number),
    });
    for (const c of [c1, c2, c3]) c.close();
  });

  it('GET /metrics has connections, messages by event, rejections by reason, calls, resumes and event-loop lag', async () => {
    const user = await principal(redis);
    const c = await connect(inst.url, { token: user.token });
    await c.ack('heartbeat', {});
    await c.ack('ice-candidate', { callId: 'nope' });
    await c.ack('ice-candidate', { callId: ulid(), candidate: null });
    const body = (await inst.app.inject('/metrics')).body;
    expect(body).toMatch(/signaling_connections\{[^}]*\} 1\n/);
    expect(body).toMatch(/signaling_messages_total\{event="heartbeat"[^}]*\} 1\n/);
    expect(body).toMatch(/signaling_rejected_messages_total\{reason="VALIDATION_FAILED"[^}]*\} 1\n/);
    expect(body).toMatch(/signaling_rejected_messages_total\{reason="CALL_NOT_FOUND"[^}]*\} 1\n/);
    expect(body).toContain('signaling_calls{state="ringing"');
    expect(body).toContain('signaling_reconnecting_clients');
    expect(body).toContain('signaling_resumes_total');
    expect(body).toContain('signaling_connection_attempts_total{result="accepted"');
    expect(body).toContain('nodejs_eventloop_lag_seconds');
    expect(body).toContain('signaling_event_loop_lag_p99_seconds');
    await expect
      .poll(async () => (await inst.app.inject('/metrics')).body, { timeout: 10_000 })
      .toMatch(/bus_stream_pending\{[^}]*group="signaling"[^}]*\} \d+\n/);
    c.close();
  });

  it('counts resumes by result (signaling_resumes_total)', async () => {
    const resumes = async (result: string) => {
      const body = (await inst.app.inject('/metrics')).body;
      const m = new RegExp(`signaling_resumes_total\\{result="${result}"[^}]*\\} (\\d+)`).exec(body);
      return Number(m?.[1] ?? 0);
    };
    const [success, failure] = [await resumes('success'), await resumes('failure')];
    const user = await principal(redis);
    const first = await connect(inst.url, { token: user.token });
    const again = await connect(inst.url, {
      token: user.token,
      clientId: first.clientId,
      resumeToken: first.session!.resumeToken,
    });
    expect(again.session?.resumed).toBe(true);
    const stranger = await connect(inst.url, { token: user.token, resumeToken: 'not-a-token-of-ours' });
    expect(stranger.session?.resumed).toBe(false);
    expect(await resumes('success')).toBe(success + 1);
    expect(await resumes('failure')).toBe(failure + 1);
    for (const c of [first, again, stranger]) c.close();
  });

  it('observes call-setup latency once per answered call (signaling_call_setup_seconds)', async () => {
    const count = async () => {
      const body = (await inst.app.inject('/metrics')).body;
      return Number(/signaling_call_setup_seconds_count\{[^}]*\} (\d+)/.exec(body)?.[1] ?? 0);
    };
    const before = await count();
    const caller = await principal(redis);
    const callee = await principal(redis);
    const cc = await connect(inst.url, { token: caller.token });
    const ce = await connect(inst.url, { token: callee.token });
    const created = await testCallStore(redis).create({
      callerId: caller.userId,
      callerKind: 'user',
      callerName: caller.displayName,
      calleeId: callee.userId,
      media: 'audio',
    });
    if (!created.ok) throw new Error(`call not created: ${created.code}`);
    const callId = created.call.callId;
    expect(await cc.ack('call-user', { callId, offer: offer() })).toEqual({ ok: true });
    await ce.waitFor('incoming-call');
    expect(await ce.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
    // A retried accept is idempotent and must not be counted twice.
    expect(await ce.ack('accept-call', { callId, answer: answer() })).toEqual({ ok: true });
    expect(await count()).toBe(before + 1);
    cc.close();
    ce.close();
  });

  it('/ready reports Redis and the socket server', async () => {
    const ready = await inst.app.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toEqual({ redis: 'ok', signaling: 'ok' });
  });
});
