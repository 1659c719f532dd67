// Process entry helper: listen, then on SIGTERM/SIGINT stop accepting, drain in-flight work (the
// app's onClose hooks close Redis/Mongo), and exit 0; a second signal or the grace deadline forces it.
import closeWithGrace from 'close-with-grace';
import type { FastifyInstance } from 'fastify';

export interface ListenOptions {
  port: number;
  host: string;
  graceMs: number;
}

export async function runService(app: FastifyInstance, { port, host, graceMs }: ListenOptions): Promise<void> {
  closeWithGrace({ delay: graceMs, logger: { error: (m: unknown) => app.log.error(m) } as never }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'fatal error, shutting down');
    else app.log.info({ signal }, 'shutting down');
    await app.close();
    app.log.info('stopped');
  });
  try {
    await app.listen({ port, host });
  } catch (err) {
    app.log.fatal({ err }, 'could not start');
    process.exit(1);
  }
}
