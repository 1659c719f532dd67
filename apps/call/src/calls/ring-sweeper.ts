// Ends calls nobody answered when their ring deadline passes. call-state's expireDue is safe on every
// instance (each call ends once), so the call service sweeps too: no-answer still happens, and reaches
// history, while signaling is down.
import type { CallStore } from '@voip/call-state/call-store';
import { every } from '@voip/kit/periodic';
import type { FastifyBaseLogger as Logger } from 'fastify';

export interface RingSweeper {
  stop(): Promise<void>;
}

export function startRingSweeper(store: CallStore, intervalMs: number, log: Logger): RingSweeper {
  return every({ name: 'ring sweep', intervalMs, log }, async () => {
    for (const c of await store.expireDue()) log.info({ callId: c.callId }, 'call rang out (no-answer)');
  });
}
