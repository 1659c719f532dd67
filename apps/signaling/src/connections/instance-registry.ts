// Instances announce themselves with a heartbeat key. When one stops beating (crash, SIGKILL, lost
// network), the first live instance to notice takes its client list and moves those clients to
// `reconnecting`: their calls survive for the resume window and no ghost entries stay behind.
import { keys } from '@voip/contracts/redis-keys';
import { notifyPeer } from '../calls/call-devices.js';
import type { Signaling } from '../realtime/context.js';
import { splitMember } from './client-registry.js';

export interface InstanceRegistry {
  /** Beat once and reap dead instances (also runs on a timer). */
  beat(): Promise<void>;
  /** Moves every client an instance left in Redis to reconnecting (a dead instance, or this one's previous run). */
  orphanClientsOf(instanceId: string): Promise<number>;
  stop(): Promise<void>;
}

export function startInstanceRegistry(ctx: Signaling): InstanceRegistry {
  const { redis, app, config } = ctx;
  const me = app.instanceId;

  async function orphanClientsOf(instanceId: string): Promise<number> {
    const setKey = keys.instanceClients(instanceId);
    let cursor = '0';
    let moved = 0;
    do {
      const [next, members] = await redis.sscan(setKey, cursor, 'COUNT', 500);
      cursor = next;
      for (const member of members) {
        const [userId, clientId] = splitMember(member);
        const r = await ctx.registry.orphan(userId, clientId, instanceId);
        await redis.srem(setKey, member);
        if (r.status !== 'reconnecting') continue;
        moved++;
        if (r.callId) await notifyPeer(ctx, r.callId, userId, clientId, 'peer-reconnecting');
      }
    } while (cursor !== '0');
    return moved;
  }

  async function beat() {
    await redis
      .multi()
      .set(keys.instance(me), String(Date.now()), 'PX', config.INSTANCE_TTL_MS)
      .sadd(keys.instances(), me)
      .exec();
    for (const id of await redis.smembers(keys.instances())) {
      if (id === me || (await redis.exists(keys.instance(id))) === 1) continue;
      // SREM answers 1 to exactly one instance: that one cleans up.
      if ((await redis.srem(keys.instances(), id)) !== 1) continue;
      const moved = await orphanClientsOf(id);
      app.log.warn(
        { deadInstanceId: id, clients: moved },
        'instance stopped beating; its clients are reconnecting',
      );
    }
  }

  let running: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (running) return;
    running = beat()
      .catch((err: unknown) => app.log.warn({ err }, 'instance heartbeat failed'))
      .finally(() => {
        running = null;
      });
  }, config.INSTANCE_HEARTBEAT_MS);
  timer.unref();

  return {
    beat,
    orphanClientsOf,
    async stop() {
      clearInterval(timer);
      await running;
      // Whatever this instance still holds (normally nothing after the drain) goes to reconnecting.
      await orphanClientsOf(me);
      await redis.multi().del(keys.instance(me)).srem(keys.instances(), me).exec();
    },
  };
}
