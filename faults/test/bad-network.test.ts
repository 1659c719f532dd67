// A client on a slow, bad network: Toxiproxy between the client and Nginx (this kernel has no netem).
// 300 ms latency with jitter and a bandwidth cap, a 10 s blackhole, a connection reset, and seed 001's
// scenarios seen from the client: heartbeats over a slow link, reconnection after a network failure,
// and the back-off (1, 2, 4, 8, 16 s, with seed 004's jitter; five tries, then `failed`).

import { join } from 'node:path';
import type { ConnectionSnapshot } from '@voip/client/connection-state';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  candidateFor,
  connectedCall,
  type FaultStack,
  type Online,
  People,
  sleep,
  startFaultStack,
  within,
} from './support/harness.js';
import { startToxiproxy, type ToxiProxy } from './support/toxiproxy.js';

/** The server's heartbeat interval here: short enough to see several per test, long enough for a 1 s RTT. */
const HEARTBEAT_MS = 3000;

describe('a client on a slow, bad network (Toxiproxy between it and Nginx)', () => {
  let stack: FaultStack;
  let proxy: ToxiProxy;
  const direct = new People(() => stack.url);
  const viaProxy = new People(() => proxy.url);

  beforeAll(async () => {
    stack = await startFaultStack({
      services: ['auth', 'user', 'call', 'signaling', 'gateway'],
      signalingInstances: 2,
      serviceEnv: { signaling: { HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS) } },
    });
    proxy = await startToxiproxy(stack.url, join(stack.stateDir, 'logs'));
  });
  afterAll(async () => {
    direct.closeAll();
    viaProxy.closeAll();
    await proxy?.stop();
    await stack?.dispose();
  });

  /** Every snapshot of the connection state machine, with when it came. */
  const track = (who: Online) => {
    const seen: (ConnectionSnapshot & { t: number })[] = [];
    who.client.on('connection', (s) => seen.push({ ...s, t: Date.now() }));
    return seen;
  };

  it('300 ms ± 100 ms latency and a 32 kB/s cap both ways: calls set up, heartbeats never flap', async () => {
    await proxy.add({
      name: 'lat-down',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: 300, jitter: 100 },
    });
    await proxy.add({
      name: 'lat-up',
      type: 'latency',
      stream: 'upstream',
      attributes: { latency: 300, jitter: 100 },
    });
    await proxy.add({ name: 'bw-down', type: 'bandwidth', stream: 'downstream', attributes: { rate: 32 } });
    await proxy.add({ name: 'bw-up', type: 'bandwidth', stream: 'upstream', attributes: { rate: 32 } });
    try {
      const slow = await viaProxy.online('Slow');
      const states = track(slow);
      const peer = await direct.online('Peer');
      const out = await connectedCall(slow, peer);
      const back = await connectedCall(peer, slow).catch((err: Error) => err);
      // Busy: the slow user is in a call; the refusal itself travelled the slow link fine.
      expect(back).toBeInstanceOf(Error);
      const ended = out.incoming.next('ended');
      await out.outgoing.hangUp();
      await within(ended, 15_000, 'hang-up over the slow link never arrived');
      const inCall = await connectedCall(peer, slow);
      // Several heartbeat periods on the slow link: no drop, no reconnect.
      await sleep(HEARTBEAT_MS * 5);
      expect(states).toEqual([]);
      expect(slow.client.connection.state).toBe('connected');
      const got: string[] = [];
      inCall.outgoing.on('ice-candidate', (e) => got.push(e.candidate?.candidate ?? 'end'));
      inCall.incoming.sendIceCandidate(candidateFor(21));
      await vi.waitFor(() => expect(got).toEqual([candidateFor(21).candidate]), { timeout: 10_000 });
      await inCall.incoming.hangUp();
    } finally {
      for (const n of ['lat-down', 'lat-up', 'bw-down', 'bw-up']) await proxy.remove(n);
    }
  });

  it('a 10 s blackhole mid-call: the client notices by heartbeat, resumes once the network is back, the call goes on', async () => {
    const ann = await viaProxy.online('Ann', { connectTimeoutMs: 5000 });
    const bob = await direct.online('Bob');
    const { outgoing, incoming } = await connectedCall(ann, bob);
    const states = track(ann);
    const peerReconnected = incoming.next('peer-reconnected');
    const back = ann.client.signaling.next('reconnected');

    await proxy.add({ name: 'hole-down', type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } });
    await proxy.add({ name: 'hole-up', type: 'timeout', stream: 'upstream', attributes: { timeout: 0 } });
    try {
      await vi.waitFor(() => expect(ann.client.connection.state).toBe('reconnecting'), {
        timeout: HEARTBEAT_MS * 3,
        interval: 100,
      });
      await sleep(10_000);
    } finally {
      await proxy.remove('hole-down');
      await proxy.remove('hole-up');
    }
    const atAnn: string[] = [];
    outgoing.on('ice-candidate', (e) => atAnn.push(e.candidate?.candidate ?? 'end'));
    expect((await within(back, 30_000, 'Ann never resumed after the blackhole')).resumed).toBe(true);
    await within(peerReconnected, 15_000, 'Bob never got peer-reconnected');
    // Routed to Ann's new connection. (What Bob sent while Ann's old connection was half-open went into
    // the blackhole: the server did not know she was gone. docs/OPERATIONS.md.)
    incoming.sendIceCandidate(candidateFor(31));
    await vi.waitFor(() => expect(atAnn).toEqual([candidateFor(31).candidate]), { timeout: 10_000 });
    expect(states.map((s) => s.state)).not.toContain('failed');
    expect([outgoing.status, incoming.status]).toEqual(['accepted', 'accepted']);
    const ended = incoming.next('ended');
    await outgoing.hangUp();
    expect((await within(ended, 15_000, 'the call did not end')).reason).toBe('hangup');
  });

  it('a connection reset mid-call: the client reconnects and resumes at once, the call goes on', async () => {
    const ann = await viaProxy.online('Cid');
    const bob = await direct.online('Dee');
    const { outgoing, incoming } = await connectedCall(ann, bob);
    const back = ann.client.signaling.next('reconnected');
    const peerReconnected = incoming.next('peer-reconnected');
    await proxy.add({ name: 'reset', type: 'reset_peer', stream: 'downstream', attributes: { timeout: 0 } });
    await vi.waitFor(() => expect(ann.client.connection.state).not.toBe('connected'), {
      timeout: HEARTBEAT_MS * 3,
      interval: 50,
    });
    await proxy.remove('reset');
    expect((await within(back, 30_000, 'no resume after the reset')).resumed).toBe(true);
    await within(peerReconnected, 15_000, 'the peer never got peer-reconnected');
    expect([outgoing.status, incoming.status]).toEqual(['accepted', 'accepted']);
    const ended = outgoing.next('ended');
    await incoming.hangUp();
    expect((await within(ended, 15_000, 'the call did not end')).reason).toBe('hangup');
  });

  it('seed 001: the network gone for good: tries after 1, 2, 4, 8, 16 s (each step jittered down by at most half), five tries, then failed; back with retryNow', async () => {
    const eve = await viaProxy.online('Eve');
    const seen = track(eve);
    await proxy.setEnabled(false);
    try {
      await vi.waitFor(() => expect(eve.client.connection.state).toBe('failed'), {
        timeout: 60_000,
        interval: 200,
      });
    } finally {
      await proxy.setEnabled(true);
    }
    const reconnecting = seen.filter((s) => s.state === 'reconnecting' && s.nextRetryAt !== undefined);
    expect(reconnecting.map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5]);
    // The delay each try waited for, as the client scheduled it and as it happened.
    const steps = [1000, 2000, 4000, 8000, 16_000];
    reconnecting.forEach((s, i) => {
      const delay = s.nextRetryAt! - s.t;
      expect(delay, `try ${i + 1}`).toBeGreaterThanOrEqual(steps[i]! / 2 - 50);
      expect(delay, `try ${i + 1}`).toBeLessThanOrEqual(steps[i]! + 50);
      const next = reconnecting[i + 1] ?? seen.find((x) => x.state === 'failed')!;
      expect(next.t - s.nextRetryAt!, `try ${i + 1} started on time`).toBeGreaterThanOrEqual(-50);
    });
    expect(seen.filter((s) => s.state === 'failed')).toHaveLength(1);

    eve.client.signaling.retryNow();
    await vi.waitFor(() => expect(eve.client.connection.state).toBe('connected'), { timeout: 20_000 });
  });
});
