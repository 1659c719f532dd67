// The operations endpoints every service shares through @voip/kit (/health, /ready, /metrics, the API.md
// error shape for unknown routes), checked the same way for each service. A service adds its own
// operations tests through `more`, which gets the running app.
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

export function describeOpsEndpoints<A extends FastifyInstance>(
  service: string,
  start: () => Promise<A>,
  more?: (app: () => A) => void,
): void {
  describe(`${service} service operations endpoints`, () => {
    let app: A | undefined;
    const current = (): A => {
      if (!app) throw new Error(`${service} did not start`);
      return app;
    };
    beforeAll(async () => {
      app = await start();
      await app.ready();
    });
    afterAll(() => app?.close());

    it('answers /health and /ready with its dependencies reachable', async () => {
      expect((await current().inject('/health')).json()).toMatchObject({ status: 'ok', service });
      const ready = await current().inject('/ready');
      expect(ready.statusCode).toBe(200);
      expect(ready.json().checks.redis).toBe('ok');
    });

    it('exposes Prometheus metrics including the HTTP histogram, labelled by method, route and status', async () => {
      await current().inject('/health');
      await current().inject('/no-such-route-for-metrics');
      const res = await current().inject('/metrics');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('process_cpu_user_seconds_total');
      // @voip/kit/metrics: the matched route's pattern, and one shared label for every unmatched URL (so
      // a scanner cannot create a series per path). The labels are compared as a set: their order and the
      // default labels (service, instance_id) are prom-client's business.
      const buckets = histogramSeries(res.body, 'http_request_duration_seconds_bucket');
      expect(buckets).toContainEqual(
        expect.objectContaining({ method: 'GET', route: '/health', status_code: '200', service }),
      );
      expect(buckets).toContainEqual(
        expect.objectContaining({ method: 'GET', route: 'unmatched', status_code: '404', service }),
      );
      expect(buckets.some((labels) => labels.route?.includes('no-such-route'))).toBe(false);
      expect(histogramSeries(res.body, 'http_request_duration_seconds_count')).toContainEqual(
        expect.objectContaining({ route: '/health', status_code: '200' }),
      );
    });

    it('answers unknown routes with the API error shape and a request id', async () => {
      const res = await current().inject({ url: '/nope', headers: { 'x-request-id': 'req-123' } });
      expect(res.statusCode).toBe(404);
      expect(res.headers['x-request-id']).toBe('req-123');
      expect(res.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
    });

    more?.(current);
  });
}

/** The label sets of every sample of `metric` in a Prometheus text exposition. */
function histogramSeries(exposition: string, metric: string): Array<Record<string, string>> {
  const series: Array<Record<string, string>> = [];
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labels: Record<string, string> = {};
    const body = line.slice(metric.length + 1, line.lastIndexOf('}'));
    for (const m of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    series.push(labels);
  }
  return series;
}
