// The Fastify app factory every service starts from: request ids, the API.md error shape, body
// limits, /health, /ready (honest dependency checks), /metrics, and TypeBox as the type provider.
import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { nulPath } from '@voip/contracts/validate';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifySchema,
  LogController,
  type RawServerDefault,
} from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Gauge, type Registry } from 'prom-client';
import { AppError, clientErrorResponse, installErrorHandlers, sendError } from './errors.js';
import { loggerOptions } from './logger.js';
import { createRegistry, instrumentHttp } from './metrics.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

export type ReadinessCheck = () => Promise<void> | void;

declare module 'fastify' {
  interface FastifyInstance {
    serviceName: string;
    instanceId: string;
    metrics: Registry;
    readiness: Map<string, ReadinessCheck>;
    /** Every route registered on this app (full path, one entry per method, HEAD included). */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

export interface RegisteredRoute {
  method: string;
  /** With its prefix, in Fastify syntax (`/api/users/:id`). */
  url: string;
  schema?: FastifySchema | undefined;
}

export interface AppOptions {
  service: string;
  instanceId?: string;
  logLevel?: string;
  bodyLimit?: number;
  trustProxy?: string | boolean;
  /** Extra Fastify server options (timeouts). */
  connectionTimeout?: number;
  requestTimeout?: number;
  /** Turn off Fastify's per-request log lines (for an app that writes its own access log). */
  disableRequestLogging?: boolean;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A refused body up to this size is read and discarded, keeping the connection (Nginx caps bodies at 128k). */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

export function createApp(opts: AppOptions): App {
  const instanceId = opts.instanceId ?? `${opts.service}-${randomUUID().slice(0, 8)}`;
  const bodyLimit = opts.bodyLimit ?? 64 * 1024;
  const app = Fastify({
    logger: loggerOptions(opts.service, opts.logLevel ?? 'info', instanceId),
    bodyLimit,
    trustProxy: opts.trustProxy ?? '127.0.0.1/8,::1/128',
    requestIdHeader: false,
    // A client-supplied x-request-id is kept when it is sane, so one id follows a request everywhere.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID.test(h) ? h : randomUUID();
    },
    connectionTimeout: opts.connectionTimeout ?? 30_000,
    requestTimeout: opts.requestTimeout ?? 30_000,
    keepAliveTimeout: 65_000,
    return503OnClosing: true,
    // Path parameters are bounded by their route schemas (which answer 400 in the API error shape);
    // the router's own limit only stops absurd paths, and those get the API shape too.
    routerOptions: { maxParamLength: 512 },
    frameworkErrors: (err, request, reply) => {
      reply.header('x-request-id', request.id);
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      return sendError(reply, {
        status: 400,
        code: tooLong ? 'VALIDATION_FAILED' : 'BAD_REQUEST',
        message: tooLong ? 'a path parameter is too long' : 'malformed URL',
      });
    },
    // Errors before a request exists (a header over Node's limit, a malformed request line) speak API.md too.
    clientErrorHandler(err, socket) {
      const response = clientErrorResponse(err);
      if (response && !socket.destroyed && socket.writable) socket.write(response);
      socket.destroy(err);
    },
    ...(opts.disableRequestLogging ? { logController: new LogController({ disableRequestLogging: true }) } : {}),
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Query strings, params and headers arrive as strings and are coerced to their schema types; JSON
  // bodies are not: `{"calleeId": 42}` or `["x"]` where a string belongs is a 400, not silently fixed.
  const coercing = buildAjv('array');
  const strict = buildAjv(false);
  app.setValidatorCompiler(({ schema, httpPart }) => worded((httpPart === 'body' ? strict : coercing).compile(schema)));

  // Some HTTP clients send `content-type: application/json` with an empty body on POSTs such as
  // logout; treat that as "no body" (routes that need one still fail their schema with a 400).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, undefined);
    return parseJson(request, text, done);
  });

  app.decorate('serviceName', opts.service);
  app.decorate('instanceId', instanceId);
  app.decorate('metrics', createRegistry(opts.service, instanceId));
  app.decorate('readiness', new Map<string, ReadinessCheck>());
  // Fastify cannot list its routes once registered; recording them lets a service's tests compare what
  // it serves with the public route table (@voip/contracts/public-routes) the gateway documents.
  const registered: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', registered);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      registered.push({ method, url: route.url, schema: route.schema });
  });

  // close() ends the connections that are idle when it starts; a keep-alive connection whose request was
  // still in flight would then stay open until keepAliveTimeout (65 s), past the shutdown grace, so the
  // process would be killed (exit 1) instead of draining. While closing, such a connection is ended as
  // soon as its last response is written.
  app.addHook('preClose', async () => {
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50).unref();
    app.server.once('close', () => clearInterval(sweep));
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // A body declared over the limit is refused before it is read, and the connection is kept: Node reads
    // the rest of the body and discards it. Fastify's own refusal closes the connection instead, and a
    // socket closed with unread bytes in its receive queue sends a reset, which can destroy the 413 before
    // the proxy in front (Nginx) has read it: the client then saw 503 "try again". A body too big to be
    // worth reading (over DRAIN_LIMIT_BYTES) still closes the connection.
    const declared = Number(request.headers['content-length']);
    if (declared > (request.routeOptions.bodyLimit ?? bodyLimit)) {
      if (declared > DRAIN_LIMIT_BYTES) reply.header('connection', 'close');
      throw new AppError('PAYLOAD_TOO_LARGE', 'request body is too large');
    }
  });
  // Before any route's schema: a NUL anywhere in the input is a 400 for every service (nulPath says why).
  app.addHook('preValidation', async (request) => {
    for (const [part, value] of [
      ['body', request.body],
      ['querystring', request.query],
      ['params', request.params],
    ] as const) {
      const at = nulPath(value);
      if (at) throw new AppError('VALIDATION_FAILED', `${part}${at}: must not contain NUL (U+0000)`);
    }
  });
  installErrorHandlers(app);
  instrumentHttp(app, app.metrics);

  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok', service: opts.service, instanceId }));
  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const { ok, checks } = await runReadinessChecks(app.readiness);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ready' : 'not-ready', checks });
  });
  registerReadinessGauge(app.metrics, app.readiness);
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    reply.type(app.metrics.contentType);
    return app.metrics.metrics();
  });
  return app;
}

/** Runs every readiness check (2 s each, in parallel): `ok` only when all pass; failures carry their message. */
export async function runReadinessChecks(
  readiness: Map<string, ReadinessCheck>,
): Promise<{ ok: boolean; checks: Record<string, string> }> {
  const checks: Record<string, string> = {};
  let ok = true;
  await Promise.all(
    [...readiness].map(async ([name, check]) => {
      try {
        await withTimeout(Promise.resolve(check()), 2000, `${name} check timed out`);
        checks[name] = 'ok';
      } catch (err) {
        ok = false;
        checks[name] = err instanceof Error ? err.message : 'failed';
      }
    }),
  );
  return { ok, checks };
}

/**
 * `readiness_check_ok{check}`: 1 while a /ready check (redis, mongo, ...) passes, 0 while it fails.
 * Evaluated when scraped, so dashboards and alerts see dependency health without polling /ready.
 */
function registerReadinessGauge(registry: Registry, readiness: Map<string, ReadinessCheck>) {
  return new Gauge({
    name: 'readiness_check_ok',
    help: '1 while the named /ready check passes, 0 while it fails (evaluated at scrape)',
    labelNames: ['check'] as const,
    registers: [registry],
    async collect() {
      const { checks } = await runReadinessChecks(readiness);
      this.reset();
      for (const [check, result] of Object.entries(checks)) this.set({ check }, result === 'ok' ? 1 : 0);
    },
  });
}

/**
 * A pattern a value fails is said in words: "must be letters, digits, _ or -" (the schema's `description`)
 * rather than Ajv's "must match pattern "^[A-Za-z0-9_-]+$"" (the regex leaves `params` too). Ajv's verbose
 * errors carry the schema for that, and the value too: both are dropped here, so no client value reaches a
 * reply or a log through them.
 */
function worded(validate: ValidateFunction): ValidateFunction {
  const run = ((data: unknown) => {
    const ok = validate(data);
    run.errors = ok
      ? null
      : (validate.errors ?? []).map(({ instancePath, schemaPath, keyword, params, message, parentSchema }) => {
          const rule = keyword === 'pattern' ? (parentSchema as { description?: unknown } | undefined)?.description : undefined;
          if (typeof rule !== 'string') return { instancePath, schemaPath, keyword, params, message };
          return { instancePath, schemaPath, keyword, params: {}, message: `must be ${rule}` };
        });
    return ok;
  }) as ValidateFunction;
  return run;
}

function buildAjv(coerceTypes: 'array' | false) {
  // The options Fastify's default compiler uses, so schemas behave the same, with our coercion policy.
  const ajv = new Ajv.default({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: false, addUsedSchema: false, strict: false, verbose: true });
  addFormats.default(ajv);
  return ajv;
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
