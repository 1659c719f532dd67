// Ends calls nobody answered when their ring deadline passes. call-state's expireDue is safe on every
// instance (each call ends once), so the call service sweeps too: no-answer still happens, and reaches
// history, while signaling is down.
import type { CallStore } from '@voip/call-state/call-store';
import type { FastifyBaseLogger as Logger } from 'fastify';

export interface RingSweeper {
  stop(): Promise<void>;
}

export function startRingSweeper(store: CallStore, intervalMs: number, log: Logger): RingSweeper {
  let running: Promise<void> | undefined;
  let stopped = false;
  const timer = setInterval(() => {
    if (running || stopped) return;
    running = store
      .expireDue()
      .then((ended) => {
        for (const c of ended) log.info({ callId: c.callId }, 'call rang out (no-answer)');
      })
      .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'ring sweep failed'))
      .finally(() => {
        running = undefined;
      });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
