// Stream backlog as Prometheus gauges, so an alert fires when a consumer group falls behind or dies:
// bus_stream_pending (delivered, not acked) and bus_stream_lag (not yet delivered) per stream and group.
// Read from XINFO GROUPS when scraped; a service registers the groups it consumes:
//   registerStreamBacklogGauges(app.metrics, app.redis, [{ stream: streams.callEvents, group: 'call-history' }])
import { streamBacklog } from '@voip/bus/streams';
import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';

export interface ConsumedGroup {
  stream: string;
  group: string;
}

export function registerStreamBacklogGauges(
  registry: Registry,
  redis: Redis,
  groups: readonly ConsumedGroup[],
) {
  const read = () =>
    Promise.all(
      groups.map(async (g) => ({
        ...g,
        backlog: await streamBacklog(redis, g.stream, g.group).catch(() => null),
      })),
    );
  // Both gauges are collected in the same scrape (concurrently for the text format): they share one
  // XINFO round while it is in flight.
  let inflight: ReturnType<typeof read> | null = null;
  const readOnce = () => {
    inflight ??= read().finally(() => {
      inflight = null;
    });
    return inflight;
  };
  const pending = new Gauge({
    name: 'bus_stream_pending',
    help: 'Stream entries delivered to the consumer group and not yet acked',
    labelNames: ['stream', 'group'] as const,
    registers: [registry],
    async collect() {
      const rows = await readOnce();
      this.reset();
      for (const { stream, group, backlog } of rows)
        if (backlog?.exists) this.set({ stream, group }, backlog.pending);
    },
  });
  const lag = new Gauge({
    name: 'bus_stream_lag',
    help: 'Stream entries not yet delivered to the consumer group (Redis 7 XINFO lag)',
    labelNames: ['stream', 'group'] as const,
    registers: [registry],
    async collect() {
      const rows = await readOnce();
      this.reset();
      for (const { stream, group, backlog } of rows)
        if (backlog?.exists && backlog.lag !== null) this.set({ stream, group }, backlog.lag);
    },
  });
  return { pending, lag };
}
