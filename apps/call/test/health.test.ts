import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callEnv, startCallService } from './support/harness.js';

describe('call service operations endpoints', () => {
  let app: Awaited<ReturnType<typeof startCallService>>;
  beforeAll(async () => {
    app = await startCallService(callEnv(1));
  });
  afterAll(() => app.close());

  it('answers /health and /ready with its dependencies reachable', async () => {
    expect((await app.inject('/health')).json()).toMatchObject({ status: 'ok', service: 'call' });
    const ready = await app.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks.redis).toBe('ok');
  });

  it('exposes Prometheus metrics including the HTTP histogram', async () => {
    await app.inject('/health');
    const res = await app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('http_request_duration_seconds_bucket');
    expect(res.body).toContain('process_cpu_user_seconds_total');
  });

  it('exposes the call-history consumer group backlog (bus_stream_pending / bus_stream_lag)', async () => {
    const scrape = async () => (await app.inject('/metrics')).body;
    // The group is created when the consumer starts; the gauges report it from then on.
    await expect
      .poll(scrape, { timeout: 10_000 })
      .toMatch(/bus_stream_pending\{[^}]*group="call-history"[^}]*\} \d+\n/);
    expect(await scrape()).toMatch(/bus_stream_lag\{[^}]*stream="[^"]*call-events"[^}]*\} \d+\n/);
  });

  it('answers unknown routes with the API error shape and a request id', async () => {
    const res = await app.inject({ url: '/nope', headers: { 'x-request-id': 'req-123' } });
    expect(res.statusCode).toBe(404);
    expect(res.headers['x-request-id']).toBe('req-123');
    expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });
});
