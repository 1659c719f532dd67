// Preloaded into every server a benchmark starts (`node --expose-gc --import ./lib/probe.ts …`, spawned
// with an IPC channel): on `{probe: id}` it forces two full GCs and answers with its heap, RSS, CPU time,
// event-loop delay since the last probe and the count of live handles/timers by kind. Our servers and the
// baselines are measured the same way, by the same code, from inside the process.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';

const delay = monitorEventLoopDelay({ resolution: 10 });
delay.enable();

export interface ProbeReply {
  probe: number;
  heapUsed: number;
  heapTotal: number;
  rss: number;
  external: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Event-loop delay since the previous probe, ms. */
  eldP50Ms: number;
  eldP99Ms: number;
  eldMaxMs: number;
  resources: Record<string, number>;
  /** Pub/sub messages received by kind, when lib/redis-tap.ts is loaded too. */
  tap?: Record<string, number>;
}

if (process.send) {
  process.on('message', (m: { probe?: number; gc?: boolean; snapshot?: string }) => {
    if (typeof m?.probe !== 'number') return;
    // {snapshot: path}: a heap snapshot there (after the GC below), for lib/heap-diff.ts.
    const snapshotTo = m.snapshot;
    const gc = (globalThis as { gc?: () => void }).gc;
    if (m.gc !== false && gc) {
      gc();
      gc();
    }
    if (snapshotTo) writeHeapSnapshot(snapshotTo);
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    const resources: Record<string, number> = {};
    for (const r of process.getActiveResourcesInfo()) resources[r] = (resources[r] ?? 0) + 1;
    const reply: ProbeReply = {
      probe: m.probe,
      heapUsed: mem.heapUsed,
      heapTotal: mem.heapTotal,
      rss: mem.rss,
      external: mem.external,
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      eldP50Ms: delay.percentile(50) / 1e6,
      eldP99Ms: delay.percentile(99) / 1e6,
      eldMaxMs: delay.max / 1e6,
      resources,
      tap: (globalThis as { __benchTap?: () => Record<string, number> }).__benchTap?.(),
    };
    delay.reset();
    process.send?.(reply);
  });
  // The channel must not keep a server alive nor hold it from exiting on SIGTERM.
  process.channel?.unref();
}
