// Several instances of one service behind one name: round-robin over the instances whose /ready says
// they can serve (alive AND their Redis/MongoDB reachable), one marked down at once when a connection
// to it fails, back up when a probe succeeds.
import type { FastifyBaseLogger } from 'fastify';

export interface UpstreamState {
  readonly url: string;
  healthy: boolean;
  lastError: string | null;
}

export interface UpstreamPoolOptions {
  service: string;
  urls: readonly string[];
  probeIntervalMs: number;
  probeTimeoutMs: number;
  log: FastifyBaseLogger;
  /** Told about every health change (metrics). */
  onChange?: (url: string, healthy: boolean) => void;
}

export interface UpstreamPool {
  readonly service: string;
  readonly upstreams: readonly UpstreamState[];
  /** The next healthy upstream not in `exclude`, or null when there is none. */
  pick(exclude?: ReadonlySet<string>): string | null;
  markDown(url: string, reason: string): void;
  /** Probes every upstream once; resolves when all answered or timed out. */
  probeAll(): Promise<void>;
  start(): void;
  stop(): void;
}

/**
 * Round-robin over healthy entries starting after `cursor`. Pure, so the rotation rule is tested
 * on its own: returns the chosen index (or -1) and the cursor to keep.
 */
export function nextHealthy(
  states: readonly Pick<UpstreamState, 'url' | 'healthy'>[],
  cursor: number,
  exclude?: ReadonlySet<string>,
): { index: number; cursor: number } {
  const n = states.length;
  for (let step = 1; step <= n; step++) {
    const i = (((cursor + step) % n) + n) % n;
    const s = states[i];
    if (s?.healthy && !exclude?.has(s.url)) return { index: i, cursor: i };
  }
  return { index: -1, cursor };
}

/** Base URLs are compared and joined without a trailing slash. */
export function normalizeBaseUrl(raw: string): string {
  const u = new URL(raw);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`upstream ${raw} must be http(s)`);
  return u.origin;
}

export function createUpstreamPool(opts: UpstreamPoolOptions): UpstreamPool {
  if (opts.urls.length === 0) throw new Error(`config: no upstreams for ${opts.service}`);
  const states: UpstreamState[] = [...new Set(opts.urls.map(normalizeBaseUrl))].map((url) => ({
    url,
    // Optimistic until the first probe: a gateway starting next to its services should not 503.
    healthy: true,
    lastError: null,
  }));
  let cursor = -1;
  let timer: NodeJS.Timeout | undefined;
  let probing: Promise<void> | null = null;

  const setHealth = (s: UpstreamState, healthy: boolean, reason: string | null) => {
    s.lastError = reason;
    if (s.healthy === healthy) return;
    s.healthy = healthy;
    if (healthy) opts.log.info({ upstreamService: opts.service, upstream: s.url }, 'upstream is up');
    else opts.log.warn({ upstreamService: opts.service, upstream: s.url, reason }, 'upstream is down');
    opts.onChange?.(s.url, healthy);
  };

  // Probes in a row that timed out, per upstream. A refused connection or a "not ready" answer is a
  // clear verdict and takes the instance out at once; a probe that merely timed out may be a busy
  // instance (or a busy gateway) on a loaded machine, so it takes two in a row, as `fall 2` would.
  const timeouts = new Map<string, number>();
  const PROBE_TIMEOUTS_TO_FALL = 2;

  const probe = async (s: UpstreamState) => {
    try {
      // /ready, not /health: an instance that is up but has lost its database would answer every
      // request routed to it with 503 while another instance could serve it.
      const res = await fetch(`${s.url}/ready`, { signal: AbortSignal.timeout(opts.probeTimeoutMs) });
      await res.body?.cancel();
      timeouts.set(s.url, 0);
      setHealth(s, res.ok, res.ok ? null : `ready answered ${res.status}`);
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const reason = e.cause?.code ?? e.name ?? 'probe failed';
      if (e.name === 'TimeoutError' || e.name === 'AbortError') {
        const n = (timeouts.get(s.url) ?? 0) + 1;
        timeouts.set(s.url, n);
        if (n < PROBE_TIMEOUTS_TO_FALL) return;
      }
      setHealth(s, false, reason);
    }
  };

  const pool: UpstreamPool = {
    service: opts.service,
    upstreams: states,
    pick(exclude) {
      const r = nextHealthy(states, cursor, exclude);
      cursor = r.cursor;
      return r.index >= 0 ? (states[r.index]?.url ?? null) : null;
    },
    markDown(url, reason) {
      const s = states.find((x) => x.url === url);
      if (s) setHealth(s, false, reason);
    },
    probeAll() {
      // Never two rounds at once: a slow upstream must not pile up probes.
      probing ??= Promise.all(states.map(probe)).then(() => {
        probing = null;
      });
      return probing;
    },
    start() {
      if (timer) return;
      void pool.probeAll();
      timer = setInterval(() => void pool.probeAll(), opts.probeIntervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
  for (const s of states) opts.onChange?.(s.url, s.healthy);
  return pool;
}
