// Redis restarted (SIGTERM, 5 s away, started again on its port) with the persistence docker-compose
// runs (`--appendonly yes`): every service says not-ready while it is away and turns ready again by
// itself (the same processes), a signaling instance started meanwhile waits instead of dying, and sessions, live calls and cross-instance routing are back. What a
// restart WITHOUT persistence loses is listed in docs/OPERATIONS.md (every key here lives only in Redis).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  candidateFor,
  connectedCall,
  counts,
  type FaultStack,
  fullHistory,
  type Online,
  onlineOn,
  People,
  readyStatus,
  sleep,
  startFaultStack,
  untilApiAnswers,
  within,
} from './support/harness.js';

describe('Redis restarted with compose’s persistence (AOF)', () => {
  let stack: FaultStack;
  const people = new People(() => stack.url);

  beforeAll(async () => {
    stack = await startFaultStack({
      services: ['auth', 'user', 'call', 'signaling', 'gateway'],
      signalingInstances: 2,
      redisPersistence: 'aof',
    });
  });
  afterAll(async () => {
    people.closeAll();
    await stack?.dispose();
  });

  const services = () =>
    stack.processes.filter((p) => !['redis', 'mongo', 'nginx', 'coturn'].includes(p.name));

  it('every service reports not-ready, then recovers without a restart; sessions, the live call and routing are back', async () => {
    // Caller and callee on different instances: their messages cross through Redis.
    const ann = await onlineOn(stack, people, 'Ann', 0);
    const bob = await onlineOn(stack, people, 'Bob', 1);
    const { outgoing, incoming } = await connectedCall(ann, bob);
    const atAnn: string[] = [];
    const atBob: string[] = [];
    outgoing.on('ice-candidate', (e) => atAnn.push(e.candidate?.candidate ?? 'end'));
    incoming.on('ice-candidate', (e) => atBob.push(e.candidate?.candidate ?? 'end'));
    const ended: string[] = [];
    outgoing.on('ended', (e) => ended.push(e.reason));
    incoming.on('ended', (e) => ended.push(e.reason));
    // signaling#1 is restarted while Redis is away (a deploy during the outage): it must wait, not die.
    const unrestarted = () => services().filter((p) => !(p.name === 'signaling' && p.index === 1));
    const pids = unrestarted().map((p) => `${p.name}#${p.index}:${p.pid}`);

    await stack.stop('redis');
    let restarting: Promise<void> | undefined;
    try {
      await vi.waitFor(
        async () => {
          for (const p of services())
            expect(await readyStatus(p.url), `${p.name}#${p.index} /ready`).toBe(503);
        },
        { timeout: 15_000, interval: 200 },
      );
      restarting = stack.restart('signaling', 1);
      await sleep(5000);
      const fresh = stack.service('signaling', 1);
      expect(await readyStatus(fresh.url), 'signaling#1 started without Redis: alive, not ready').toBe(503);
    } finally {
      await stack.restart('redis');
    }
    await restarting;
    await vi.waitFor(
      async () => {
        for (const p of services()) expect(await readyStatus(p.url), `${p.name}#${p.index} /ready`).toBe(200);
      },
      { timeout: 30_000, interval: 200 },
    );
    // The same processes: nothing was restarted to get there.
    expect(unrestarted().map((p) => `${p.name}#${p.index}:${p.pid}`)).toEqual(pids);

    const token = (w: Online) => w.client.rest.tokens!.accessToken;
    await untilApiAnswers(stack.url, token(ann));
    // Sessions: the access token is still accepted, the refresh token still rotates.
    expect((await ann.client.users.me()).id).toBe(ann.id);
    await ann.client.auth.refresh();
    expect((await ann.client.auth.me()).id).toBe(ann.id);
    // Sockets and the live call: connected (or resumed) and routed across instances both ways.
    await vi.waitFor(
      () => {
        expect(ann.client.connection.state).toBe('connected');
        expect(bob.client.connection.state).toBe('connected');
      },
      { timeout: 30_000, interval: 200 },
    );
    outgoing.sendIceCandidate(candidateFor(11));
    incoming.sendIceCandidate(candidateFor(12));
    await vi.waitFor(
      () => {
        expect(atBob).toEqual([candidateFor(11).candidate]);
        expect(atAnn).toEqual([candidateFor(12).candidate]);
      },
      { timeout: 15_000, interval: 200 },
    );
    expect(ended).toEqual([]);
    expect([outgoing.status, incoming.status]).toEqual(['accepted', 'accepted']);
    // A resume after the restart still finds its state.
    const back = ann.client.signaling.next('reconnected');
    ann.client.signaling.dropTransport();
    expect((await within(back, 20_000, 'no resume after the Redis restart')).resumed).toBe(true);

    const bye = incoming.next('ended');
    await outgoing.hangUp();
    expect((await within(bye, 15_000, 'the call did not end')).reason).toBe('hangup');
    // A new call through the rebuilt routing, and both in history once.
    const again = await connectedCall(bob, ann);
    const bye2 = again.outgoing.next('ended');
    await again.incoming.hangUp();
    await within(bye2, 15_000, 'the second call did not end');
    await vi.waitFor(
      async () => {
        const seen = counts((await fullHistory(ann)).map((h) => h.callId));
        expect(seen.get(outgoing.id)).toBe(1);
        expect(seen.get(again.outgoing.id)).toBe(1);
      },
      { timeout: 20_000, interval: 500 },
    );
  });
});
