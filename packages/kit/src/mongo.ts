// A MongoDB (mongoose) connection as a Fastify resource. Commands are not buffered while down, so a
// request fails fast with 503; the first connection is retried with back-off in the background.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import mongoose, { type Connection } from 'mongoose';

declare module 'fastify' {
  interface FastifyInstance {
    mongo: Connection;
  }
}

export interface MongoOptions {
  uri: string;
  /**
   * Wait this long for the first connection before serving anyway (readiness stays 503). Well under
   * Fastify's plugin timeout (10 s): a plugin still waiting then fails the whole start-up.
   */
  initialWaitMs?: number;
}

export function createMongoConnection(uri: string): Connection {
  return mongoose.createConnection(uri, {
    bufferCommands: false,
    autoIndex: true,
    autoCreate: true,
    serverSelectionTimeoutMS: 3000,
    maxPoolSize: 20,
  });
}

export const mongoPlugin = fp(
  async (app: FastifyInstance, opts: MongoOptions) => {
    const conn = createMongoConnection(opts.uri);
    let closing = false;
    conn.on('error', (err) => app.log.warn({ err: err.message }, 'mongo error'));
    const connected = (async () => {
      for (let attempt = 0; !closing; attempt++) {
        try {
          await conn.asPromise();
          if (attempt > 0) app.log.info('mongo connected');
          return;
        } catch (err) {
          const delay = Math.min(200 * 2 ** attempt, 5000);
          app.log.error({ err: (err as Error).message, retryInMs: delay }, 'mongo not reachable; retrying');
          await new Promise((r) => setTimeout(r, delay).unref());
          if (closing) return;
          await conn.openUri(opts.uri).catch(() => undefined);
        }
      }
    })();
    await Promise.race([connected, new Promise((r) => setTimeout(r, opts.initialWaitMs ?? 3000).unref())]);
    app.decorate('mongo', conn);
    app.readiness.set('mongo', async () => {
      if (conn.readyState !== 1) throw new Error('mongo not connected');
      await conn.db?.admin().ping();
    });
    app.addHook('onClose', async () => {
      closing = true;
      await conn.close().catch(() => undefined);
    });
  },
  { name: 'mongo' },
);

/** Schema paths every document has: `{ name: String }` → `{ name: { type: String, required: true } }`. */
export function requiredPaths<const T extends Record<string, unknown>>(
  paths: T,
): { [K in keyof T]: { type: T[K]; required: true } } {
  return Object.fromEntries(Object.entries(paths).map(([k, type]) => [k, { type, required: true }])) as never;
}

/** Schema paths that are null until set: `{ name: Date }` → `{ name: { type: Date, default: null } }`. */
export function nullPaths<const T extends Record<string, unknown>>(
  paths: T,
): { [K in keyof T]: { type: T[K]; default: null } } {
  return Object.fromEntries(Object.entries(paths).map(([k, type]) => [k, { type, default: null }])) as never;
}
