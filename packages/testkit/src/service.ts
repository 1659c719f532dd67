// Boots a whole service in-process on a free port against the real servers, for tests that need a
// listening service (socket clients, the gateway in front of another service).
import type { FastifyInstance } from 'fastify';

export interface BootedService<A extends FastifyInstance = FastifyInstance> {
  app: A;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function bootService<A extends FastifyInstance>(build: () => Promise<A> | A): Promise<BootedService<A>> {
  const app = await build();
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app, port, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}
