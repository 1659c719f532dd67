// A stand-in for one instance of an upstream service's HTTP surface, on a real port: it echoes what
// reached it (so tests see exactly what the gateway forwarded), has the operational and internal
// routes a real service has (which must never be reachable through the gateway), and can hang or die.
import Fastify, { type FastifyInstance } from 'fastify';

export interface Received {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface UpstreamDouble {
  name: string;
  url: string;
  port: number;
  received: Received[];
  /** Stops listening (connections refused from now on). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
  /** What its /ready answers from now on: 200, or 503 as a service whose database is down. */
  setReady(ready: boolean): void;
}

function build(name: string, received: Received[], ready: { ok: boolean }): FastifyInstance {
  const app = Fastify({ logger: false, forceCloseConnections: true });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  app.get('/health', async () => ({ status: 'ok', service: name }));
  app.get('/ready', async (_request, reply) =>
    ready.ok ? { status: 'ready' } : reply.code(503).send({ status: 'not-ready' }),
  );
  app.get('/metrics', async () => 'secret_metric 1\n');
  app.all('/internal/*', async () => ({ secret: 'internal route reached' }));
  // Never answers: the gateway must time out.
  app.all('/api/:service/hang', (_request, _reply) => new Promise(() => {}));
  app.all('/api/*', async (request, reply) => {
    const entry: Received = {
      method: request.method,
      url: request.url,
      headers: request.headers,
      body: typeof request.body === 'string' ? request.body : '',
    };
    received.push(entry);
    // A request in flight during a shutdown: answered 300 ms after it was recorded.
    if (request.headers['x-test-slow']) await new Promise((r) => setTimeout(r, 300));
    if (request.url.startsWith('/api/users/teapot'))
      return reply.code(418).send({ error: { code: 'TEAPOT', message: 'short and stout' } });
    return reply.header('x-upstream', name).send({ upstream: name, ...entry });
  });
  return app;
}

export async function startUpstreamDouble(name: string): Promise<UpstreamDouble> {
  const received: Received[] = [];
  const ready = { ok: true };
  let app = build(name, received, ready);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let running = true;
  return {
    name,
    port,
    url: `http://127.0.0.1:${port}`,
    received,
    async stop() {
      if (!running) return;
      running = false;
      await app.close();
    },
    async restart() {
      if (running) return;
      app = build(name, received, ready);
      await app.listen({ port, host: '127.0.0.1' });
      running = true;
    },
    setReady(ok) {
      ready.ok = ok;
    },
  };
}
