// Stream consumers as Prometheus metrics and /ready checks, so an alert fires when a consumer group falls
// behind, dies or writes a dead letter, and /ready says when one is paused:
// - bus_stream_pending (delivered, not acked) and bus_stream_lag (not yet delivered) per stream and group,
//   read from XINFO GROUPS when scraped: registerStreamBacklogGauges(app.metrics, app.redis, groups);
// - bus_dead_letters_total{stream, group, reason}: countDeadLetters(app.metrics) as (part of) onOutcome;
// - watchConsumerReadiness(app.readiness, 'history-consumer', consumer): /ready 503 with
//   "paused: mongo unavailable" while the consumer waits for a dependency.
import type { ConsumerOutcome, DeadLetterReason, OutcomeInfo, StreamConsumer } from '@voip/bus/streams';
import { type StreamBacklog, streamBacklog } from '@voip/bus/streams';
import type { Redis } from 'ioredis';
import { Counter, Gauge, type Registry } from 'prom-client';

import type { ReadinessCheck } from './app.js';

const DEAD_LETTERS = 'bus_dead_letters_total';

/** Every reason a consumer dead-letters for (DeadLetterReason). */
const DEAD_LETTER_REASONS = [
  'max-deliveries',
  'invalid-json',
  'invalid-envelope',
  'invalid-data',
  'missing-envelope-field',
] as const satisfies readonly DeadLetterReason[];

/**
 * An onOutcome hook that counts dead letters written, by stream, group and reason (all from closed sets:
 * no entry ids or types). One counter per registry, shared by every consumer of the service. The series
 * of the `groups` given start at 0, so the first dead letter after a start is an increase an alert sees.
 */
export function countDeadLetters(
  registry: Registry,
  groups: readonly ConsumedGroup[] = [],
): (outcome: ConsumerOutcome, info: OutcomeInfo) => void {
  const counter =
    (registry.getSingleMetric(DEAD_LETTERS) as Counter<'stream' | 'group' | 'reason'> | undefined) ??
    new Counter({
      name: 'bus_dead_letters_total',
      help: 'Stream entries moved to the dead-letter stream, by source stream, consumer group and reason',
      labelNames: ['stream', 'group', 'reason'] as const,
      registers: [registry],
    });
  for (const { stream, group } of groups)
    for (const reason of DEAD_LETTER_REASONS) counter.inc({ stream, group, reason }, 0);
  return (outcome, info) => {
    if (outcome === 'dead-lettered')
      counter.inc({ stream: info.stream, group: info.group, reason: info.reason ?? 'unknown' });
  };
}

/** A /ready check that fails with the consumer's pause reason ("paused: mongo unavailable") while paused. */
export function watchConsumerReadiness(
  readiness: Map<string, ReadinessCheck>,
  name: string,
  consumer: Pick<StreamConsumer, 'status'>,
) {
  readiness.set(name, () => {
    const { state, reason } = consumer.status;
    if (state === 'paused') throw new Error(reason ?? 'paused');
  });
}

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
  const gauge = (metric: { name: string; help: string }, value: (backlog: StreamBacklog) => number | null) =>
    new Gauge({
      ...metric,
      labelNames: ['stream', 'group'] as const,
      registers: [registry],
      async collect() {
        const rows = await readOnce();
        this.reset();
        for (const { stream, group, backlog } of rows) {
          const v = backlog?.exists ? value(backlog) : null;
          if (v !== null) this.set({ stream, group }, v);
        }
      },
    });
  const pending = gauge(
    { name: 'bus_stream_pending', help: 'Stream entries delivered to the consumer group and not yet acked' },
    (b) => b.pending,
  );
  const lag = gauge(
    {
      name: 'bus_stream_lag',
      help: 'Stream entries not yet delivered to the consumer group (Redis 7 XINFO lag)',
    },
    (b) => b.lag,
  );
  return { pending, lag };
}
