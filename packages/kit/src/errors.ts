// The API.md error shape, produced the same way by every service, and the mapping of every failure
// (validation, body limits, dependencies down, bugs) onto it. Never a stack trace to the client.
import { type ErrorCode, ErrorStatus } from '@voip/contracts/common';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    status?: number,
  ) {
    super(message);
    this.status = status ?? ErrorStatus[code];
  }
}

export const httpError = (code: ErrorCode, message: string, details?: unknown) => new AppError(code, message, details);

const DEPENDENCY_ERROR_NAMES = new Set([
  'MongoServerSelectionError',
  'MongooseServerSelectionError',
  'MongoNetworkError',
  'MongoNotConnectedError',
  'MongoNetworkTimeoutError',
  'MaxRetriesPerRequestError',
]);

/** True when an error means "a dependency (Mongo, Redis) is unreachable", which is a 503, not a bug. */
export function isDependencyError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (DEPENDENCY_ERROR_NAMES.has(err.name)) return true;
  const m = err.message;
  return (
    /before initial connection is complete|Connection is closed|Stream isn't writeable|ECONNREFUSED|client was closed|Reached the max retries/i.test(
      m,
    ) || (err.name === 'MongooseError' && /buffering timed out/i.test(m))
  );
}

const codeForStatus = (status: number): ErrorCode => {
  switch (status) {
    case 400:
      return 'BAD_REQUEST';
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'FORBIDDEN';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'CONFLICT';
    case 413:
      return 'PAYLOAD_TOO_LARGE';
    case 415:
      return 'UNSUPPORTED_MEDIA_TYPE';
    case 429:
      return 'RATE_LIMITED';
    case 503:
      return 'UNAVAILABLE';
    default:
      return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
  }
};

export interface ErrorReply {
  status: number;
  code: string;
  message: string;
  details?: unknown;
}

/** Maps anything thrown in a request to the status, code and message the client sees. */
export function toErrorReply(err: unknown): ErrorReply {
  if (err instanceof AppError) return { status: err.status, code: err.code, message: err.message, details: err.details };
  const e = err as FastifyError & { validation?: Array<{ instancePath?: string; message?: string; params?: unknown }> };
  if (e?.validation) {
    return {
      status: 400,
      code: 'VALIDATION_FAILED',
      message: e.message,
      details: e.validation.slice(0, 10).map((v) => ({ path: v.instancePath ?? '', message: v.message ?? 'invalid', params: v.params })),
    };
  }
  if (e?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' };
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
    return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: 'content type must be application/json' };
  if (isDependencyError(err)) return { status: 503, code: 'UNAVAILABLE', message: 'a dependency is unavailable, try again' };
  const status = typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
  if (status >= 500) return { status, code: codeForStatus(status), message: 'internal error' };
  return { status, code: codeForStatus(status), message: e?.message || 'bad request' };
}

export function sendError(reply: FastifyReply, r: ErrorReply) {
  return reply
    .code(r.status)
    .type('application/json; charset=utf-8')
    .send({ error: { code: r.code, message: r.message, ...(r.details !== undefined ? { details: r.details } : {}) } });
}

/**
 * The raw HTTP answer to an error Node's parser raises before any request exists (a header over Node's
 * 16 KiB limit, a malformed request line, a request timeout), in API.md's shape instead of Fastify's own;
 * null for a connection that is gone anyway. Used as Fastify's `clientErrorHandler`.
 */
export function clientErrorResponse(err: NodeJS.ErrnoException): string | null {
  if (err.code === 'ECONNRESET') return null;
  const [status, reason, code, message] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'request headers are too large']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'REQUEST_TIMEOUT', 'the request took too long to arrive']
        : [400, 'Bad Request', 'BAD_REQUEST', 'malformed request'];
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** A 429's Retry-After: the `retryAfterSeconds` its details carry, else 1. */
function retryAfterOf(details: unknown): string {
  const s = (details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof s === 'number' && Number.isFinite(s) && s >= 1 ? String(Math.ceil(s)) : '1';
}

export function installErrorHandlers(app: FastifyInstance) {
  app.setErrorHandler((err, request: FastifyRequest, reply) => {
    const r = toErrorReply(err);
    if (r.status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: r.code, status: r.status }, r.message);
    if (r.status === 429 && !reply.getHeader('retry-after')) reply.header('retry-after', retryAfterOf(r.details));
    return sendError(reply, r);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, { status: 404, code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
