// A job that runs on a timer in the background of a service (heartbeats, sweeps, clean-ups): never two runs
// at once (a tick while one runs is skipped, not queued), a failure logged and retried at the next tick,
// a timer that does not keep the process alive, and a stop that waits for the run in flight.
import type { FastifyBaseLogger } from 'fastify';

export interface Periodic {
  /** Runs the job now unless a run is in flight (then waits for that one) or it was stopped; never rejects. */
  run(): Promise<void>;
  /** No further runs; resolves when the run in flight, if any, is over (a caller in a hurry need not wait). */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  /** Logged with the error when a run fails: "… failed". */
  name: string;
  intervalMs: number;
  log: Pick<FastifyBaseLogger, 'warn'>;
  /** A tick is skipped while this is false (e.g. Redis away: nothing to sweep against). */
  when?: () => boolean;
}

export function every(opts: PeriodicOptions, job: () => Promise<unknown>): Periodic {
  let running: Promise<void> | null = null;
  let stopped = false;
  const run = (): Promise<void> => {
    if (running) return running;
    if (stopped) return Promise.resolve();
    running = job()
      .then(() => undefined)
      .catch((err: unknown) => opts.log.warn({ err }, `${opts.name} failed`))
      .finally(() => {
        running = null;
      });
    return running;
  };
  const timer = setInterval(() => {
    if (!stopped && !running && (opts.when?.() ?? true)) void run();
  }, opts.intervalMs);
  timer.unref();
  return {
    run,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
