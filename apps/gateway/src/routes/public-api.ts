// Everything under /api: the edge checks (token, rate limits) and then the docs and one proxy per
// service. Encapsulated, so /health, /ready and /metrics of the gateway itself stay outside it.
import { type PublicService, SERVICE_PREFIXES } from '@voip/contracts/public-routes';
import type { App } from '@voip/kit/app';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { installEdgeAuth } from '../edge/edge-auth.js';
import { installRateLimits } from '../edge/rate-limits.js';
import { serviceProxy } from '../proxy/service-proxy.js';
import type { UpstreamPool } from '../upstreams/upstream-pool.js';
import { docsRoutes } from './docs.js';

export interface PublicApiOptions {
  root: App;
  config: Config;
  pools: Record<PublicService, UpstreamPool>;
}

export async function publicApi(scope: FastifyInstance, { root, config, pools }: PublicApiOptions) {
  installEdgeAuth(scope, {
    root,
    failuresPerWindow: config.RATE_LIMIT_AUTH_FAILURES_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
    tokenCacheMs: config.TOKEN_CACHE_MS,
    tokenCacheEntries: config.TOKEN_CACHE_MAX_ENTRIES,
  });
  await installRateLimits(scope, {
    redis: root.redis,
    metrics: root.metrics,
    userMax: config.RATE_LIMIT_USER_MAX,
    anonMax: config.RATE_LIMIT_ANON_MAX,
    credentialsMax: config.RATE_LIMIT_CREDENTIALS_MAX,
    windowMs: config.RATE_LIMIT_WINDOW_MS,
  });
  await scope.register(docsRoutes);
  for (const [service, prefix] of Object.entries(SERVICE_PREFIXES) as [PublicService, string][]) {
    await scope.register(serviceProxy, {
      servicePrefix: prefix,
      pool: pools[service],
      timeoutMs: config.UPSTREAM_TIMEOUT_MS,
      connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS,
    });
  }
}
