// Wakes a callee whose phones are all disconnected: looks up their devices, sends every one a wake-up
// through the provider (retries with back-off and jitter, behind the circuit breaker), drops the tokens
// the provider says are dead, and records the outcome on the call. It runs beside the request, never in
// it: `wake()` returns at once and no failure in here can reach the caller of POST /api/calls.
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { CallRepository, PushOutcome, PushReport } from '../history/call-repository.js';
import type { UserDirectory } from '../users/user-directory.js';
import { backoffDelay, sleep } from './backoff.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { PushProvider, PushTarget, SendResult, WakeUpMessage } from './provider.js';

export interface WakeUpRequest extends WakeUpMessage {
  calleeId: string;
}

export interface WakeUpDispatcher {
  readonly breaker: CircuitBreaker;
  /** Fire and forget. */
  wake(req: WakeUpRequest): void;
  /** Resolves when every wake-up started so far has finished (tests, benchmarks). */
  idle(): Promise<void>;
  /** Abandons retries in flight and waits for them to settle. */
  close(): Promise<void>;
}

export interface WakeUpDispatcherOptions {
  provider: PushProvider | null;
  breaker: CircuitBreaker;
  directory: UserDirectory;
  calls: CallRepository;
  log: Logger;
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Counts each device send by result (metrics). */
  onSend?: (result: 'sent' | 'invalid-token' | 'rejected' | 'unavailable') => void;
  random?: () => number;
  now?: () => number;
}

type DeviceResult = {
  target: PushTarget;
  result: SendResult | { ok: false; kind: 'circuit-open' | 'expired' | 'aborted'; detail: string };
};

export function createWakeUpDispatcher(opts: WakeUpDispatcherOptions): WakeUpDispatcher {
  const { provider, breaker, directory, calls, log, maxAttempts, retryBaseMs, retryMaxMs } = opts;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const closing = new AbortController();
  const inflight = new Set<Promise<void>>();

  async function sendWithRetry(target: PushTarget, msg: WakeUpMessage): Promise<DeviceResult> {
    const deadline = Date.parse(msg.expiresAt);
    for (let attempt = 0; ; attempt++) {
      if (closing.signal.aborted)
        return { target, result: { ok: false, kind: 'aborted', detail: 'service closing' } };
      // Waking a phone for a call that has stopped ringing would only show a ghost call.
      if (now() >= deadline)
        return { target, result: { ok: false, kind: 'expired', detail: 'call stopped ringing' } };
      if (!breaker.tryAcquire())
        return { target, result: { ok: false, kind: 'circuit-open', detail: 'push endpoint circuit open' } };
      const result = await provider!.send(target, msg, closing.signal);
      opts.onSend?.(result.ok ? 'sent' : result.kind);
      if (result.ok || result.kind !== 'unavailable') {
        // The endpoint answered: per-message errors say nothing about its health.
        breaker.recordSuccess();
        return { target, result };
      }
      breaker.recordFailure();
      if (attempt + 1 >= maxAttempts) return { target, result };
      const delay = Math.max(
        result.retryAfterMs ?? 0,
        backoffDelay(attempt, retryBaseMs, retryMaxMs, random),
      );
      if (now() + delay >= deadline) return { target, result };
      if (!(await sleep(delay, closing.signal))) return { target, result };
    }
  }

  async function run(req: WakeUpRequest): Promise<void> {
    const clog = log.child({ callId: req.callId, calleeId: req.calleeId });
    let outcome: PushOutcome = 'none';
    let report: PushReport = { devices: 0, sent: 0, failed: 0, invalidated: 0 };
    try {
      if (!provider) {
        report.detail = 'no push provider configured';
      } else {
        const devices = await directory.devices(req.calleeId, closing.signal);
        report.devices = devices.length;
        if (devices.length > 0) {
          const { callerId, callerName, callId, media, expiresAt } = req;
          const msg: WakeUpMessage = { callId, callerId, callerName, media, expiresAt };
          const results = await Promise.all(devices.map((d) => sendWithRetry(d, msg)));
          report.sent = results.filter((r) => r.result.ok).length;
          report.failed = results.length - report.sent;
          const dead = results
            .filter((r) => !r.result.ok && r.result.kind === 'invalid-token')
            .map((r) => r.target.pushToken);
          const firstError = results.find((r) => !r.result.ok)?.result;
          if (firstError && !firstError.ok)
            report.detail = `${firstError.kind}: ${firstError.detail}`.slice(0, 300);
          outcome = report.sent > 0 ? 'sent' : 'failed';
          if (dead.length > 0) {
            try {
              report.invalidated = await directory.invalidatePushTokens(dead, closing.signal);
            } catch (err) {
              clog.warn(
                { err: (err as Error).message, tokens: dead.length },
                'could not invalidate dead push tokens',
              );
            }
          }
        }
      }
    } catch (err) {
      outcome = 'failed';
      report = { ...report, detail: (err as Error).message.slice(0, 300) };
    }
    clog.info({ push: outcome, ...report }, 'wake-up push finished');
    try {
      await calls.setPush(req.callId, outcome, report);
    } catch (err) {
      clog.warn({ err: (err as Error).message }, 'could not record the push outcome');
    }
  }

  return {
    breaker,
    wake(req) {
      const p = run(req)
        .catch((err: unknown) => log.error({ err, callId: req.callId }, 'wake-up push crashed'))
        .finally(() => inflight.delete(p));
      inflight.add(p);
    },
    async idle() {
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
    async close() {
      closing.abort();
      while (inflight.size > 0) await Promise.allSettled([...inflight]);
    },
  };
}
