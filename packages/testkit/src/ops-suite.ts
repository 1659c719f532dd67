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

    it('exposes Prometheus metrics including the HTTP histogram', async () => {
      await current().inject('/health');
      const res = await current().inject('/metrics');
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain('http_request_duration_seconds_bucket');
      expect(res.body).toContain('process_cpu_user_seconds_total');
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
