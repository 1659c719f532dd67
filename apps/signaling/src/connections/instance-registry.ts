// Instances announce themselves with a heartbeat key. When one stops beating (crash, SIGKILL, lost
// network), the first live instance to notice takes its client list and moves those clients to
// `reconnecting`: their calls survive for the resume window and no ghost entries stay behind. An instance
// that was only paused (GC, a Redis blip) and finds its heartbeat had lapsed takes its clients back.
import { keys } from '@voip/contracts/redis-keys';
import { every } from '@voip/kit/periodic';
import { notifyPeer } from '../calls/call-devices.js';
import type { Signaling } from '../realtime/context.js';

export interface InstanceRegistry {
  /** Beat once (re-claiming this instance's clients if its heartbeat had lapsed) and reap dead instances (also runs on a timer). */
  beat(): Promise<void>;
  /**
   * Moves every client an instance left in Redis to reconnecting (a dead instance, or this one's previous
   * run). `reaping`: stops as soon as the instance beats again.
   */
  orphanClientsOf(instanceId: string, opts?: { reaping?: boolean }): Promise<number>;
  stop(): Promise<void>;
}

const BATCH = 500;

export function startInstanceRegistry(ctx: Signaling): InstanceRegistry {
  const { redis, app, config } = ctx;
  const me = app.instanceId;

  async function orphanClientsOf(instanceId: string, { reaping = false } = {}): Promise<number> {
    let moved = 0;
    for await (const page of ctx.registry.devicesOnInstance(instanceId)) {
      for (const device of page) {
        const { userId, clientId } = device;
        const r = await ctx.registry.orphan(device, instanceId, { onlyIfDead: reaping });
        if (r.status === 'alive') {
          // It beat again meanwhile (it was paused, not dead): it re-claims what was moved so far.
          app.log.warn({ instanceId, clients: moved }, 'reaped instance is beating again; stopped');
          return moved;
        }
        if (r.status !== 'reconnecting') continue;
        moved++;
        if (r.callId) await notifyPeer(ctx, r.callId, userId, clientId, 'peer-reconnecting');
      }
    }
    return moved;
  }

  /**
   * After a lapse of this instance's heartbeat, every open socket takes its record back: other instances
   * may have moved it to reconnecting (the reaper) or queued its messages (the relay treats a device on an
   * instance without heartbeat as away). A record that moved on (resumed elsewhere, or expired) closes
   * the socket, like a replaced connection.
   */
  async function reclaimLocalClients(): Promise<{ reclaimed: number; flushed: number; closed: number }> {
    const totals = { reclaimed: 0, flushed: 0, closed: 0 };
    // Woken from a freeze, the timers run before the I/O the freeze held back: one turn of the event loop
    // first, so the sockets whose clients closed them meanwhile are seen closed, not handed messages.
    await new Promise((r) => setImmediate(r));
    const sockets = [...ctx.local.all()];
    for (let i = 0; i < sockets.length; i += BATCH) {
      const batch = sockets.slice(i, i + BATCH);
      await Promise.all(
        batch.map((s) =>
          ctx.enqueue(s, async () => {
            if (!s.connected) return;
            const { userId, clientId } = s.data;
            const r = await ctx.registry.reclaim({ userId, clientId }, me, s.id);
            if (r.status === 'gone') {
              s.data.kick = 'replaced';
              s.disconnect(true);
              totals.closed++;
              return;
            }
            const emit = s.emit as (event: string, payload: unknown) => boolean;
            for (const [event, payload] of r.pending) emit.call(s, event, payload);
            totals.flushed += r.pending.length;
            if (r.status !== 'reconnecting') return;
            totals.reclaimed++;
            if (r.callId) await notifyPeer(ctx, r.callId, userId, clientId, 'peer-reconnected');
          }),
        ),
      );
    }
    return totals;
  }

  let beaten = false;
  async function beat() {
    const res = await redis
      .multi()
      .set(keys.instance(me), String(Date.now()), 'PX', config.INSTANCE_TTL_MS, 'GET')
      .sadd(keys.instances(), me)
      .exec();
    const [[setErr, previous] = [], [addErr, added] = []] = res ?? [];
    if (!res || setErr || addErr) throw setErr ?? addErr ?? new Error('heartbeat transaction aborted');
    // Our key had expired, or a reaper took us off the list: either way others treated us as dead.
    const lapsed = beaten && (previous === null || added === 1);
    beaten = true;
    if (lapsed) {
      const r = await reclaimLocalClients();
      app.log.warn(r, 'this instance missed its heartbeat and was taken for dead; clients re-claimed');
    }
    for (const id of await redis.smembers(keys.instances())) {
      if (id === me || (await redis.exists(keys.instance(id))) === 1) continue;
      // SREM answers 1 to exactly one instance: that one cleans up.
      if ((await redis.srem(keys.instances(), id)) !== 1) continue;
      const moved = await orphanClientsOf(id, { reaping: true });
      app.log.warn(
        { deadInstanceId: id, clients: moved },
        'instance stopped beating; its clients are reconnecting',
      );
    }
  }

  const beating = every({ name: 'instance heartbeat', intervalMs: config.INSTANCE_HEARTBEAT_MS, log: app.log }, beat);

  return {
    beat,
    orphanClientsOf,
    async stop() {
      await beating.stop();
      // Whatever this instance still holds (normally nothing after the drain) goes to reconnecting.
      await orphanClientsOf(me);
      await redis.multi().del(keys.instance(me)).srem(keys.instances(), me).exec();
    },
  };
}
