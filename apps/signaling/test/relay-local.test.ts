// A relay between two devices connected to the same instance is delivered there directly, not through
// Redis (issue 16, relay): the instance's adapter connection receives nothing for it. Across instances
// they still go through the adapter.
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedCall,
  candidate,
  connect,
  type Instance,
  principal,
  sleep,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(2);
let a: Instance;
let b: Instance;
let redis: Redis;
beforeAll(() => {
  [a, b] = cluster.instances as [Instance, Instance];
  ({ redis } = cluster);
});

/** What an instance's adapter connection receives that mentions `callId`. */
function adapterTraffic(i: Instance, callId: () => string) {
  const seen: string[] = [];
  const on = (_c: Buffer, m: Buffer) => {
    const text = m.toString('latin1');
    if (callId() && text.includes(callId())) seen.push(text);
  };
  i.app.signaling.adapterSub.on('smessageBuffer', on);
  return { seen, stop: () => i.app.signaling.adapterSub.off('smessageBuffer', on) };
}

describe('relay delivery', () => {
  it('same instance: the peer gets every candidate, in order, and nothing goes through Redis', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = cluster.track(await connect(a.url, { token: x.token }));
    const cy = cluster.track(await connect(a.url, { token: y.token }));
    const callId = await acceptedCall(cluster.store, { x, cx }, { y, cy });
    const traffic = adapterTraffic(a, () => callId);
    try {
      for (let i = 0; i < 5; i++)
        expect(await cx.ack('ice-candidate', { callId, candidate: candidate(i) })).toEqual({ ok: true });
      for (let i = 0; i < 5; i++)
        expect(await cy.waitFor('ice-candidate', (p) => p.callId === callId)).toEqual({
          callId,
          candidate: candidate(i),
        });
      await sleep(200);
      expect(traffic.seen).toEqual([]);
    } finally {
      traffic.stop();
    }
  });

  it('across instances: delivered through Redis as before', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const cx = cluster.track(await connect(a.url, { token: x.token }));
    const cy = cluster.track(await connect(b.url, { token: y.token }));
    const callId = await acceptedCall(cluster.store, { x, cx }, { y, cy });
    const traffic = adapterTraffic(b, () => callId);
    try {
      expect(await cx.ack('ice-candidate', { callId, candidate: candidate(7) })).toEqual({ ok: true });
      expect(await cy.waitFor('ice-candidate', (p) => p.callId === callId)).toEqual({
        callId,
        candidate: candidate(7),
      });
      expect(traffic.seen.length).toBe(1);
    } finally {
      traffic.stop();
    }
  });
});
