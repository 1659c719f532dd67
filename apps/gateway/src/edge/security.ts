// Browser-facing hygiene: CORS for the configured origins only, and helmet's security headers on
// every answer (the API returns JSON, so the strict defaults cost nothing).
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

export async function installSecurityHeaders(app: FastifyInstance, corsOrigins: readonly string[]) {
  await app.register(cors, {
    // Empty = same-origin only (the demo client is served by Nginx from the same origin).
    origin: corsOrigins.length === 0 ? false : corsOrigins.includes('*') ? '*' : [...corsOrigins],
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
    exposedHeaders: [
      'x-request-id',
      'retry-after',
      'x-ratelimit-limit',
      'x-ratelimit-remaining',
      'x-ratelimit-reset',
    ],
    credentials: false,
    maxAge: 600,
  });
  await app.register(helmet, { global: true });
}
