// The shared timing wheels every instance turns (one timer per instance, none per socket or call):
// ringing calls past their deadline end as no-answer; reconnecting devices past their resume window are
// removed and their call ends with connection-lost. Redis decides who wins, so each happens once.
import type { Signaling } from '../realtime/context.js';
import { endCallOfLostDevice } from './call-devices.js';

export interface Wheels {
  tick(now?: number): Promise<void>;
  stop(): void;
}

export function startWheels(ctx: Signaling): Wheels {
  let running: Promise<void> | null = null;

  async function turn(now: number) {
    const ended = await ctx.calls.expireDue(now);
    for (const call of ended) {
      ctx.app.log.info({ callId: call.callId }, 'call ended: no answer');
      await Promise.all([ctx.presence.update(call.callerId), ctx.presence.update(call.calleeId)]);
    }
    for (const device of await ctx.registry.dueResumes(now)) {
      const r = await ctx.registry.expire(device, now);
      if (r.status !== 'expired') continue;
      const { userId, clientId } = device;
      ctx.app.log.info({ userId, clientId, callId: r.callId || undefined }, 'resume window passed');
      if (r.callId) await endCallOfLostDevice(ctx, r.callId, userId, clientId);
      await ctx.presence.update(userId);
    }
  }

  const tick = (now = Date.now()) => {
    if (running) return running;
    running = turn(now)
      .catch((err: unknown) => ctx.app.log.warn({ err }, 'wheel turn failed'))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => void tick(), ctx.config.WHEEL_INTERVAL_MS);
  timer.unref();
  return {
    tick,
    stop: () => clearInterval(timer),
  };
}
