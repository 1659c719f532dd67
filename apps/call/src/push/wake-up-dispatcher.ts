// Wakes a callee whose phones are all disconnected: looks up their devices, sends every one a wake-up
// through the provider (retries with back-off and jitter, behind the circuit breaker), drops the tokens
// the provider says are dead, and records the outcome on the call. It runs beside the request, never in
// it: `wake()` returns at once and no failure in here can reach the caller of POST /api/calls.
// The devices a wake-up reached are kept in Redis until the call is answered or ends; then `cancel()`
// (from the history consumer, or from here when the call moved on while the wake-up was in flight)
// takes them and sends each a cancel push so a phone that never connected stops ringing.
import type { CallRecord } from '@voip/call-state/call-store';
import { CANCEL_PUSH_TTL_MS, type CancelReason } from '@voip/contracts/push';
import { keys } from '@voip/contracts/redis-keys';
import { isConnectedEntry } from '@voip/contracts/user-clients';
import type { FastifyBaseLogger as Logger } from 'fastify';
import type { Redis } from 'ioredis';
import type { CallRepository, PushOutcome, PushReport } from '../history/call-repository.js';
import type { UserDirectory } from '../users/user-directory.js';
import { backoffDelay, sleep } from './backoff.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { PushMessage, PushProvider, PushTarget, SendResult, WakeUpMessage } from './provider.js';

export interface WakeUpRequest extends WakeUpMessage {
  calleeId: string;
}

export interface CancelRequest {
  callId: string;
  reason: CancelReason;
}

/** A member of keys.pushWokenDevices: the device and whose it is. */
type WokenDevice = PushTarget & { userId: string };

export interface WakeUpDispatcher {
  readonly breaker: CircuitBreaker;
  /** Fire and forget. */
  wake(req: WakeUpRequest): void;
  /**
   * Fire and forget: sends a cancel push to every device the call's wake-up reached that has not had
   * one and is not connected now (a connected device hears call-ended / call-answered-elsewhere on its
   * socket). Safe to call for any call, on any instance, more than once.
   */
  cancel(req: CancelRequest): void;
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
  /** Where woken devices are kept for the cancel, and the callee's connected devices are read. */
  redis: Redis;
  /** The live call (call-state), read after a wake-up to catch a call that ended while it was sent. */
  callState: (callId: string) => Promise<Pick<CallRecord, 'state' | 'answeredAt' | 'endReason'> | null>;
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
  const { provider, breaker, directory, calls, redis, log, maxAttempts, retryBaseMs, retryMaxMs } = opts;
  const now = opts.now ?? Date.now;
  const random = opts.random ?? Math.random;
  const closing = new AbortController();
  const inflight = new Set<Promise<void>>();

  async function sendWithRetry(target: PushTarget, msg: PushMessage): Promise<DeviceResult> {
    const deadline = Date.parse(msg.expiresAt);
    for (let attempt = 0; ; attempt++) {
      if (closing.signal.aborted)
        return { target, result: { ok: false, kind: 'aborted', detail: 'service closing' } };
      // Waking a phone for a call that has stopped ringing would only show a ghost call (and a cancel
      // past its own expiry is pointless).
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
          const woken = results.filter((r) => r.result.ok).map((r) => r.target);
          if (woken.length > 0) await rememberWoken(req, woken, clog);
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

  /**
   * Keeps the woken devices for the cancel, then looks at the call: if it was answered or ended while
   * the wake-up was out, the history consumer may already have looked for woken devices and found none,
   * so the cancel goes from here (taking the set is atomic: each device gets one cancel either way).
   */
  async function rememberWoken(req: WakeUpRequest, woken: PushTarget[], clog: Logger): Promise<void> {
    const ttlMs = Math.max(0, Date.parse(req.expiresAt) - now()) + CANCEL_PUSH_TTL_MS;
    try {
      await redis
        .multi()
        .sadd(
          keys.pushWokenDevices(req.callId),
          ...woken.map((t) => JSON.stringify({ ...t, userId: req.calleeId } satisfies WokenDevice)),
        )
        .pexpire(keys.pushWokenDevices(req.callId), ttlMs)
        .set(keys.pushWokenCall(req.calleeId), req.callId, 'PX', ttlMs)
        .exec();
      const call = await opts.callState(req.callId);
      const reason = cancelReasonOf(call);
      if (reason) await sendCancels({ callId: req.callId, reason });
    } catch (err) {
      clog.warn({ err: (err as Error).message }, 'could not keep the woken devices for a cancel');
    }
  }

  /** Takes the call's woken devices (once) and sends each one that is not connected a cancel. */
  async function sendCancels(req: CancelRequest): Promise<void> {
    const clog = log.child({ callId: req.callId });
    const key = keys.pushWokenDevices(req.callId);
    const taken = await redis.multi().smembers(key).del(key).exec();
    const members = (taken?.[0]?.[1] as string[] | undefined) ?? [];
    if (members.length === 0 || !provider) return;
    const woken = members.map((m) => JSON.parse(m) as WokenDevice);
    const calleeId = woken[0]!.userId;
    const targets: PushTarget[] = woken.map(({ deviceId, platform, pushToken }) => ({
      deviceId,
      platform,
      pushToken,
    }));
    // A device registered under its signaling clientId (what packages/android-client does) and
    // connected now has the news on its socket; a push on top would only race it.
    const entries = await redis.hmget(keys.userClients(calleeId), ...targets.map((t) => t.deviceId));
    const offline = targets.filter((_, i) => {
      const e = entries[i];
      return !(e && isConnectedEntry(e));
    });
    const msg: PushMessage = {
      type: 'call-cancelled',
      callId: req.callId,
      reason: req.reason,
      expiresAt: new Date(now() + CANCEL_PUSH_TTL_MS).toISOString(),
    };
    const results = await Promise.all(offline.map((t) => sendWithRetry(t, msg)));
    const sent = results.filter((r) => r.result.ok).length;
    clog.info(
      {
        calleeId,
        reason: req.reason,
        woken: targets.length,
        connected: targets.length - offline.length,
        sent,
      },
      'cancel push finished',
    );
  }

  function track(p: Promise<void>, callId: string, what: string): void {
    const tracked = p
      .catch((err: unknown) => log.error({ err, callId }, `${what} crashed`))
      .finally(() => inflight.delete(tracked));
    inflight.add(tracked);
  }

  return {
    breaker,
    wake(req) {
      track(run(req), req.callId, 'wake-up push');
    },
    cancel(req) {
      track(sendCancels(req), req.callId, 'cancel push');
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

/** Why woken phones must stop ringing, from the live call; null while it still rings. */
export function cancelReasonOf(
  call: Pick<CallRecord, 'state' | 'answeredAt' | 'endReason'> | null,
): CancelReason | null {
  if (!call || call.state === 'ringing') return null;
  if (call.answeredAt) return 'answered-elsewhere';
  return call.endReason ?? 'failed';
}
