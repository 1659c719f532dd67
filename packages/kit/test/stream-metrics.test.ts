// The backlog gauges follow XINFO GROUPS of a real Redis: entries not yet read are lag, read but
// unacked are pending.
import { createStreamProducer } from '@voip/bus/streams';
import { redisUrl } from '@voip/testkit/env';
import { uniqueName } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { registerStreamBacklogGauges } from '../src/stream-metrics.js';

const redis = new Redis(redisUrl());
afterAll(() => redis.quit());

const value = async (registry: Registry, name: string, stream: string) => {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) => v.labels.stream === stream)?.value;
};

describe('registerStreamBacklogGauges', () => {
  it('reports lag for undelivered entries and pending for unacked ones', async () => {
    const stream = uniqueName('stream');
    const group = 'metrics-test';
    const registry = new Registry();
    registerStreamBacklogGauges(registry, redis, [{ stream, group }]);
    expect(await value(registry, 'bus_stream_pending', stream)).toBeUndefined();

    await redis.xgroup('CREATE', stream, group, '$', 'MKSTREAM');
    const producer = createStreamProducer(redis, 'metrics-test');
    for (let i = 0; i < 3; i++) await producer.append(stream, 'guest.deleted', { guestIds: [`g${i}`] });
    expect(await value(registry, 'bus_stream_pending', stream)).toBe(0);
    expect(await value(registry, 'bus_stream_lag', stream)).toBe(3);

    await redis.xreadgroup('GROUP', group, 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
    expect(await value(registry, 'bus_stream_pending', stream)).toBe(2);
    expect(await value(registry, 'bus_stream_lag', stream)).toBe(1);
    // The text format (what Prometheus scrapes) collects both gauges in one pass.
    const text = await registry.metrics();
    expect(text).toContain(`bus_stream_pending{stream="${stream}",group="${group}"} 2`);
    expect(text).toContain(`bus_stream_lag{stream="${stream}",group="${group}"} 1`);
  });
});
