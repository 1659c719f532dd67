// One structured line per request, replacing Fastify's two: request id, method, path, matched
// route, status, the upstream instance that answered, user and duration.
import type { FastifyInstance } from 'fastify';
import { pathOf } from './edge-auth.js';

/** Does a logger at this level write info lines? (Operational routes are set to warn by the kit.) */
const writesInfo = (level: string) => level === 'info' || level === 'debug' || level === 'trace';

export function installAccessLog(app: FastifyInstance) {
  // The line carries no secret (the path without its query, ids, addresses), so it is written by a
  // logger without the service logger's redaction pass, which cost more than the rest of the line.
  const log = app.log.child({}, { redact: [] });
  app.addHook('onResponse', (request, reply, done) => {
    // The request's own logger carries the route's level: it says whether to write.
    if (writesInfo(request.log.level))
      log.info(
        {
          reqId: request.id,
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
    done();
  });
}
