// Forwards one service's public prefix (`/api/users/*` …) to a healthy instance of it, path and
// query unchanged. Failover happens here: a connection failure takes the instance out of rotation
// and, when the request cannot have reached it (or is a GET), replays it on the next healthy one.

import type { IncomingHttpHeaders } from 'node:http';
import httpProxy from '@fastify/http-proxy';
import { INTERNAL_TOKEN_HEADER } from '@voip/contracts/tokens';
import { AppError } from '@voip/kit/errors';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  classifyUpstreamError,
  marksUpstreamDown,
  mayRetryElsewhere,
  type UpstreamFailure,
} from '../upstreams/upstream-errors.js';
import type { UpstreamPool } from '../upstreams/upstream-pool.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The instance this request is (or was last) forwarded to, for failover and the access log. */
    upstream: string | null;
    upstreamService: string | null;
  }
}

export interface ServiceProxyOptions {
  /** `/api/users` … (not `prefix`: Fastify would take that as the scope's own prefix). */
  servicePrefix: string;
  pool: UpstreamPool;
  timeoutMs: number;
  connectTimeoutMs: number;
}

type ReplyFromOptions = NonNullable<Parameters<FastifyReply['from']>[1]>;

/** The parts of a request the header rewrite reads (reply-from types it for HTTP/1 and HTTP/2). */
interface ProxiedRequest {
  id: string;
  protocol: string;
  socket: { remoteAddress?: string | undefined };
  headers: IncomingHttpHeaders;
}

const BODYLESS = new Set(['GET', 'HEAD']);

/** Headers the upstream sees: who called (for its own rate limits), the request id, never a forged internal credential. */
export function upstreamRequestHeaders(
  request: ProxiedRequest,
  headers: IncomingHttpHeaders,
): IncomingHttpHeaders {
  const out = { ...headers };
  delete out[INTERNAL_TOKEN_HEADER];
  out['x-request-id'] = request.id;
  const peer = request.socket.remoteAddress ?? '';
  const prior = out['x-forwarded-for'];
  out['x-forwarded-for'] = prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${peer}` : peer;
  out['x-forwarded-proto'] ??= request.protocol;
  out['x-forwarded-host'] ??= request.headers.host;
  return out;
}

function failureError(failure: UpstreamFailure, service: string): AppError {
  if (failure === 'timeout')
    return new AppError('UPSTREAM_TIMEOUT', `${service} did not answer in time`, { service });
  return new AppError('UPSTREAM_UNAVAILABLE', `${service} is unavailable, try again`, { service });
}

export async function serviceProxy(app: FastifyInstance, opts: ServiceProxyOptions) {
  const { pool } = opts;
  // Bodies are read here as raw bytes: the body limit (413) is enforced at the edge, the bytes reach
  // the service untouched (it validates them), and a failed attempt can be replayed elsewhere.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.addHook('preHandler', async (request) => {
    request.upstreamService = pool.service;
    request.upstream = pool.pick();
    if (!request.upstream) throw failureError('unreachable', pool.service);
  });

  const forward = (
    request: FastifyRequest,
    reply: FastifyReply,
    dest: string,
    base: ReplyFromOptions,
    tried: Set<string>,
  ) => {
    const upstream = request.upstream!;
    tried.add(upstream);
    const body = Buffer.isBuffer(request.body) && !BODYLESS.has(request.method) ? request.body : undefined;
    return reply.from(dest, {
      ...base,
      getUpstream: () => upstream,
      timeout: opts.timeoutMs,
      ...(body ? { body, contentType: request.headers['content-type'] ?? 'application/octet-stream' } : {}),
      rewriteRequestHeaders: upstreamRequestHeaders,
      onError: (_reply, { error }) => {
        const failure = classifyUpstreamError(error);
        if (marksUpstreamDown(failure)) pool.markDown(upstream, `${failure}: ${error.message}`);
        if (mayRetryElsewhere(failure, request.method)) {
          const next = pool.pick(tried);
          if (next) {
            request.log.warn({ upstream, next, failure }, 'upstream failed, retrying on another instance');
            request.upstream = next;
            forward(request, reply, dest, base, tried);
            return;
          }
        }
        request.log.warn({ upstream, failure, err: error.message }, 'upstream request failed');
        reply.send(failureError(failure, pool.service));
      },
    });
  };

  await app.register(httpProxy, {
    prefix: opts.servicePrefix,
    upstream: '',
    // The path is forwarded as it came: /api/users/me → {upstream}/api/users/me.
    rewritePrefix: opts.servicePrefix,
    proxyPayloads: false,
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    undici: { connect: { timeout: opts.connectTimeoutMs }, connections: 256, pipelining: 1 },
    disableRequestLogging: true,
    replyOptions: { getUpstream: (request: { upstream: string | null }) => request.upstream ?? '' },
    handler: (request, reply, dest, options) =>
      forward(request, reply, dest, options as ReplyFromOptions, new Set()),
  });
}
