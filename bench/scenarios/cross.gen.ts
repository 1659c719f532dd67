// Generator of the cross-instance (and soak) scenarios: devices by name, complete calls between them.
import { callFlow, createAudioCall, Device } from '../lib/device.ts';
import { sourceAddresses } from '../lib/sio.ts';

const devices = new Map<string, Device>();
const source = sourceAddresses();

export async function connect(a: {
  devices: { name: string; url: string; auth: Record<string, unknown> }[];
  concurrency?: number;
}) {
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  const lane = async () => {
    while (next < a.devices.length) {
      const d = a.devices[next++]!;
      try {
        devices.set(
          d.name,
          await Device.connect(d.url, d.auth, { localAddress: source(), timeoutMs: 60_000 }),
        );
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency ?? 20 }, lane));
  return { connected: a.devices.length - failed, failed, elapsedMs: performance.now() - t0 };
}

/** Runs the calls (caller, callee, callId) with `concurrency` in flight; returns per-call timings and failures. */
export async function calls(a: {
  calls: { caller: string; callee: string; callId: string }[];
  concurrency: number;
  ice?: number;
}) {
  let next = 0;
  const setupMs: number[] = [];
  const errors: string[] = [];
  const lane = async () => {
    while (next < a.calls.length) {
      const c = a.calls[next++]!;
      try {
        const r = await callFlow(devices.get(c.caller)!, devices.get(c.callee)!, c.callId, a.ice ?? 4);
        setupMs.push(r.setupMs);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, lane));
  return { ok: setupMs.length, failed: errors.length, errors: errors.slice(0, 5), setupMs };
}

export async function closeAll() {
  for (const d of devices.values()) d.sio.ws.terminate();
  devices.clear();
  return {};
}

/**
 * Steady call churn until `durationMs` is over: each pair (devices already connected by `connect`) makes
 * a call, waits `pauseMs`, and again; the calls are created in Redis as the call service would.
 */
export async function churn(a: {
  redisUrl: string;
  pairs: { caller: string; callee: string; callerId: string; calleeId: string }[];
  durationMs: number;
  pauseMs: number;
}) {
  const { createCallStore } = await import('@voip/call-state/call-store');
  const { Redis } = await import('ioredis');
  const redis = new Redis(a.redisUrl);
  const store = createCallStore(redis, { producerSource: 'bench-soak', ringTimeoutMs: 60_000 });
  const until = performance.now() + a.durationMs;
  let ok = 0;
  const errors: string[] = [];
  const setupMs: number[] = [];
  await Promise.all(
    a.pairs.map(async (p, i) => {
      await new Promise((r) => setTimeout(r, (i * a.pauseMs) / a.pairs.length));
      while (performance.now() < until) {
        try {
          const callId = await createAudioCall(store, p.callerId, p.calleeId);
          const r = await callFlow(devices.get(p.caller)!, devices.get(p.callee)!, callId, 4);
          setupMs.push(r.setupMs);
          ok++;
        } catch (err) {
          errors.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, a.pauseMs));
      }
    }),
  );
  redis.disconnect();
  return {
    ok,
    failed: errors.length,
    errors: errors.slice(0, 5),
    setupMs: setupMs.length > 5000 ? setupMs.slice(-5000) : setupMs,
  };
}
