// One pool per public service from the *_UPSTREAMS variables, probed while the app runs, with
// each instance's health exported as a gauge.
import type { PublicService } from '@voip/contracts/public-routes';
import type { App } from '@voip/kit/app';
import { Gauge } from 'prom-client';
import type { Config } from '../config.js';
import { createUpstreamPool, type UpstreamPool } from './upstream-pool.js';

export function createUpstreamPools(app: App, config: Config): Record<PublicService, UpstreamPool> {
  const gauge = new Gauge({
    name: 'gateway_upstream_healthy',
    help: '1 while the gateway routes to this upstream instance, 0 while it is out of rotation',
    labelNames: ['service', 'upstream'] as const,
    registers: [app.metrics],
  });
  const make = (service: PublicService, urls: readonly string[]) =>
    createUpstreamPool({
      service,
      urls,
      probeIntervalMs: config.HEALTH_CHECK_INTERVAL_MS,
      probeTimeoutMs: config.HEALTH_CHECK_TIMEOUT_MS,
      log: app.log,
      onChange: (upstream, healthy) => gauge.set({ service, upstream }, healthy ? 1 : 0),
    });
  const pools = {
    auth: make('auth', config.AUTH_UPSTREAMS),
    users: make('users', config.USER_UPSTREAMS),
    calls: make('calls', config.CALL_UPSTREAMS),
    media: make('media', config.MEDIA_UPSTREAMS),
  };
  app.addHook('onReady', async () => {
    for (const p of Object.values(pools)) p.start();
  });
  app.addHook('onClose', async () => {
    for (const p of Object.values(pools)) p.stop();
  });
  return pools;
}
