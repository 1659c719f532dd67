// Presence fan-out reaches only the instances that hold a watcher (issue 16, cross-instance): a change is
// emitted to each watcher's room on its own, which the sharded adapter sends to that room's instances
// only; one emit to several rooms would go to its base channel, i.e. to every instance.
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect, type Instance, principal, sleep, useCluster } from './support/cluster.js';

const cluster = useCluster(3);
let a: Instance;
let b: Instance;
let c: Instance;
let redis: Redis;
beforeAll(() => {
  [a, b, c] = cluster.instances as [Instance, Instance, Instance];
  ({ redis } = cluster);
});

describe('presence fan-out', () => {
  it('tells every watcher once and sends nothing to an instance that holds no watcher', async () => {
    const x = await principal(redis);
    const w1 = await principal(redis);
    const w2 = await principal(redis);
    const bystander = await principal(redis);
    await redis.sadd(keys.contactWatchers(x.userId), w1.userId, w2.userId);
    const c1 = cluster.track(await connect(a.url, { token: w1.token }));
    const c2 = cluster.track(await connect(b.url, { token: w2.token }));
    cluster.track(await connect(c.url, { token: bystander.token }));

    // What instance C's adapter connection receives that mentions x.
    const atC: string[] = [];
    const onMessage = (_channel: Buffer, message: Buffer) => {
      const text = message.toString('latin1');
      if (text.includes(x.userId)) atC.push(text);
    };
    const sub = c.app.signaling.adapterSub;
    sub.on('smessageBuffer', onMessage);
    try {
      const cx = cluster.track(await connect(a.url, { token: x.token }));
      for (const w of [c1, c2])
        expect(await w.waitFor('presence', (p) => p.userId === x.userId)).toMatchObject({ status: 'online' });
      cx.close();
      for (const w of [c1, c2])
        expect(await w.waitFor('presence', (p) => p.userId === x.userId)).toMatchObject({
          status: 'offline',
        });
      await sleep(300);
      // Each watcher heard each change once.
      for (const w of [c1, c2]) expect(w.received.filter((r) => r.event === 'presence')).toEqual([]);
      expect(atC).toEqual([]);
    } finally {
      sub.off('smessageBuffer', onMessage);
    }
  });
});
