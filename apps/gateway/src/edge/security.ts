// Browser-facing hygiene: CORS for the configured origins only, and helmet's security headers on
// every answer (the API returns JSON, so the strict defaults cost nothing).
import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/**
 * The headers helmet sets, computed once: with the options used here none of them depends on the
 * request, and @fastify/helmet rebuilt the whole middleware chain on every request.
 */
export function helmetHeaders(options: Readonly<HelmetOptions> = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  const recorder = {
    setHeader(name: string, value: string | number | readonly string[]) {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader(name: string) {
      delete headers[name.toLowerCase()];
    },
  };
  let failure: unknown;
  helmet(options)({} as IncomingMessage, recorder as unknown as ServerResponse, (err?: unknown) => {
    failure = err;
  });
  if (failure) throw failure;
  return headers;
}

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
  const headers = helmetHeaders();
  // Set before anything else answers, so errors, refusals and proxied answers all carry them (a
  // header the upstream sets itself still wins, as it did with @fastify/helmet).
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(headers);
    done();
  });
}
