// The backlog gauges follow XINFO GROUPS of a real Redis: entries not yet read are lag, read but
// unacked are pending.

import type { ConsumerStatus } from '@voip/bus/streams';
import { createStreamProducer } from '@voip/bus/streams';
import { redisUrl } from '@voip/testkit/env';
import { uniqueName } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  countDeadLetters,
  registerStreamBacklogGauges,
  watchConsumerReadiness,
} from '../src/stream-metrics.js';

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

describe('countDeadLetters', () => {
  it('counts dead-lettered outcomes by stream, group and reason, one counter per registry', async () => {
    const registry = new Registry();
    const info = { stream: 'voip:stream:call-events', group: 'call-history', entryId: '1-0' };
    const a = countDeadLetters(registry, [info]);
    expect(await registry.metrics()).toContain(
      'bus_dead_letters_total{stream="voip:stream:call-events",group="call-history",reason="max-deliveries"} 0',
    );
    const b = countDeadLetters(registry);
    a('processed', info);
    a('dead-lettered', { ...info, reason: 'max-deliveries' });
    b('dead-lettered', { ...info, reason: 'max-deliveries' });
    b('dead-lettered', { ...info, reason: 'invalid-json' });
    const text = await registry.metrics();
    expect(text).toContain(
      'bus_dead_letters_total{stream="voip:stream:call-events",group="call-history",reason="max-deliveries"} 2',
    );
    expect(text).toContain('reason="invalid-json"} 1');
  });
});

describe('watchConsumerReadiness', () => {
  it("fails the named check with the consumer's pause reason while it is paused", async () => {
    const readiness = new Map<string, () => Promise<void> | void>();
    let status: ConsumerStatus = { state: 'running' };
    watchConsumerReadiness(readiness, 'history-consumer', {
      get status() {
        return status;
      },
    });
    const check = readiness.get('history-consumer')!;
    expect(() => check()).not.toThrow();
    status = { state: 'paused', reason: 'paused: mongo unavailable', since: Date.now() };
    expect(() => check()).toThrow('paused: mongo unavailable');
  });
});
