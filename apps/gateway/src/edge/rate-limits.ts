// Request budgets at the edge, counted in Redis so every gateway instance shares them: per user id
// once the token is verified, per client IP otherwise, and a much smaller one per IP for the
// routes that create sessions (register, login, guest), the ones worth brute-forcing.
import rateLimit from '@fastify/rate-limit';
import { keys } from '@voip/contracts/redis-keys';
import { AppError } from '@voip/kit/errors';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { pathOf } from './edge-auth.js';
import { leasedRateStore } from './leased-rate-store.js';

export interface RateLimitOptions {
  redis: Redis;
  metrics: Registry;
  userMax: number;
  anonMax: number;
  credentialsMax: number;
  windowMs: number;
}

export type RatePolicy = 'credentials' | 'user' | 'anon';

const CREDENTIAL_ROUTES = new Set(['/api/auth/register', '/api/auth/login', '/api/auth/guest']);

export function ratePolicyOf(request: Pick<FastifyRequest, 'method' | 'url' | 'principal'>): RatePolicy {
  if (request.method === 'POST' && CREDENTIAL_ROUTES.has(pathOf(request.url))) return 'credentials';
  return request.principal ? 'user' : 'anon';
}

/** Registers the limiter for every route added after it in the calling scope. */
export async function installRateLimits(scope: FastifyInstance, opts: RateLimitOptions) {
  const max: Record<RatePolicy, number> = {
    credentials: opts.credentialsMax,
    user: opts.userMax,
    anon: opts.anonMax,
  };
  const claims = new Counter({
    name: 'gateway_rate_limit_claims_total',
    help: 'Slices of rate-limit budget claimed from Redis (each one INCRBY; requests in between are counted locally)',
    registers: [opts.metrics],
  });
  await scope.register(rateLimit, {
    global: true,
    store: leasedRateStore({
      redis: opts.redis,
      prefix: keys.rateLimit('gateway', ''),
      onClaim: () => claims.inc(),
    }),
    timeWindow: opts.windowMs,
    // Runs after the edge's token check (a scope-level onRequest hook), so the user id is known.
    hook: 'onRequest',
    keyGenerator: (request) => {
      const policy = ratePolicyOf(request);
      return policy === 'user' ? `user:${request.principal!.id}` : `${policy}:${request.ip}`;
    },
    max: (_request, key) => max[key.slice(0, key.indexOf(':')) as RatePolicy] ?? opts.anonMax,
    errorResponseBuilder: (_request, ctx) =>
      new AppError('RATE_LIMITED', `too many requests, retry in ${ctx.after}`, {
        retryAfterSeconds: Math.max(1, Math.ceil(ctx.ttl / 1000)),
      }),
  });
}
