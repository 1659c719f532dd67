// Prometheus metrics: one registry per app (so several apps can live in one test process), the
// prom-client defaults, and an HTTP histogram by method, route and status.
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * A counter on `registry`, in one line where a module defines many. docs-gen's observability test finds
 * metric names in source as `name: '…'` or the second argument of `counter(` / `histogram(`.
 */
export function counter<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[] = [],
): Counter<L> {
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

/** A histogram on `registry` with its buckets (in the metric's unit), as `counter`. */
export function histogram<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  buckets: number[],
  labelNames: readonly L[] = [],
): Histogram<L> {
  return new Histogram<L>({ name, help, buckets, labelNames, registers: [registry] });
}

export function createRegistry(service: string, instanceId?: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service, ...(instanceId ? { instance_id: instanceId } : {}) });
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  return registry;
}

export function instrumentHttp(app: FastifyInstance, registry: Registry) {
  const histogram = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // Unmatched URLs share one label so a scanner cannot explode the series count.
    const route = request.routeOptions.url ?? 'unmatched';
    histogram.observe({ method: request.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  return histogram;
}
