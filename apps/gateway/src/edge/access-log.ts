// One structured line per request, replacing Fastify's two: request id (from the child logger),
// method, path, matched route, status, the upstream instance that answered, user and duration.
import type { FastifyInstance } from 'fastify';
import { pathOf } from './edge-auth.js';

export function installAccessLog(app: FastifyInstance) {
  app.addHook('onResponse', async (request, reply) => {
    // Operational routes log at warn (kit), so the info line below is skipped for them.
    request.log.info(
      {
        method: request.method,
        path: pathOf(request.url),
        route: request.routeOptions.url ?? null,
        status: reply.statusCode,
        upstreamService: request.upstreamService,
        upstream: request.upstream,
        userId: request.principal?.id ?? null,
        ip: request.ip,
        durationMs: Math.round(reply.elapsedTime * 10) / 10,
      },
      'access',
    );
  });
}
