// Graceful shutdown: stop accepting, tell every client `server-shutdown` with a spread-out reconnect
// delay, give them a bounded time to move, then close the rest as "reconnecting" so their calls continue
// once they resume on another instance.
import type { Signaling } from './context.js';

export async function drain(ctx: Signaling): Promise<void> {
  const { local, config, app } = ctx;
  ctx.state.draining = true;
  const total = local.connectionCount();
  for (const s of local.all()) {
    s.emit('server-shutdown', {
      reconnectAfterMs:
        config.SHUTDOWN_RECONNECT_AFTER_MS +
        Math.floor(Math.random() * (config.SHUTDOWN_RECONNECT_JITTER_MS + 1)),
    });
  }
  const deadline = Date.now() + config.SHUTDOWN_DRAIN_MS;
  while (local.connectionCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const left = local.connectionCount();
  for (const s of [...local.all()]) {
    s.data.kick = 'shutdown';
    s.disconnect(true);
  }
  await ctx.idle();
  app.log.info({ connections: total, movedOnTheirOwn: total - left, closed: left }, 'drained');
}
