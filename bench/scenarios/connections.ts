// connections: idle authenticated sockets on one instance, ours vs bare Socket.io (same adapter and
// settings, each socket in a room per user), ramped in steps by several generator processes (each under
// the 20,000 open files a process may hold here). Per step, after a forced GC inside the server: heap and
// RSS; Redis memory; then, at the top, idle CPU and event-loop delay over a quiet window. A fresh server
// per arm and repetition; arms alternate.
import { spread } from '../lib/hdr.ts';
import { cpuMsOf, type Proc, sleep, spawnWorker } from '../lib/proc.ts';
import { defineScenario, knob, type RunContext, stopInOrder } from '../lib/scenario.ts';
import { benchRedis, principals, type Server, startBaseline, startSignaling } from '../lib/stack.ts';

const MB = 1024 * 1024;

async function redisUsed(redis: { info(section: string): Promise<string> }): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

async function run(ctx: RunContext) {
  const N = knob('BENCH_CONNECTIONS', 5000, 100);
  const IDLE_MS = knob('BENCH_CONNECTIONS_IDLE_MS', 10_000, 500);
  const STEPS = knob('BENCH_CONNECTIONS_STEPS', 4, 2);
  const PER_GEN = knob('BENCH_CONNECTIONS_PER_GENERATOR', 5000);
  const G = Math.max(2, Math.ceil(N / PER_GEN));
  const redis = await benchRedis();
  const gens: Proc[] = Array.from({ length: G }, (_, i) =>
    spawnWorker(`conn-gen-${i}`, 'scenarios/connections.gen.ts'),
  );
  type Point = { sockets: number; heapMB: number; rssMB: number; redisMB: number };
  type ArmRun = {
    points: Point[];
    heapPerSocketKB: number;
    rssPerSocketKB: number;
    redisPerSocketKB: number;
    baseHeapMB: number;
    connectPerSecond: number;
    idleCpuPercent: number;
    eldP50Ms: number;
    eldP99Ms: number;
    eldMaxMs: number;
    failed: number;
  };
  const runs: Record<string, ArmRun[]> = { ours: [], bare: [] };
  try {
    for (let r = 0; r < ctx.reps; r++) {
      for (const arm of r % 2 === 0 ? ['ours', 'bare'] : ['bare', 'ours']) {
        await redis.client.flushall();
        const server: Server =
          arm === 'ours'
            ? await startSignaling(redis.url, 'ours')
            : await startBaseline('bare.ts', 'bare', { REDIS_URL: redis.url, BARE_ROOMS: 'user' });
        try {
          const auths: Record<string, unknown>[] =
            arm === 'ours'
              ? (await principals(redis.client, N)).map((p) => ({
                  token: p.token,
                  clientId: p.clientId,
                  lastSeq: 0,
                }))
              : Array.from({ length: N }, (_, i) => ({ userId: `u${r}-${i}`, clientId: `c${r}-${i}` }));
          await sleep(1000);
          // BENCH_HEAP_SNAPSHOTS=<dir>: heap snapshots of the first repetition, empty and full (lib/heap-diff.ts).
          const snap = (tag: string) =>
            process.env.BENCH_HEAP_SNAPSHOTS && r === 0
              ? `${process.env.BENCH_HEAP_SNAPSHOTS}/${arm}-${tag}.heapsnapshot`
              : undefined;
          const p0 = await server.proc.probe(true, snap('empty'));
          const r0 = await redisUsed(redis.client);
          const points: Point[] = [{ sockets: 0, heapMB: p0.heapUsed / MB, rssMB: p0.rss / MB, redisMB: 0 }];
          let done = 0;
          let connectMs = 0;
          let failed = 0;
          for (let s = 1; s <= STEPS; s++) {
            const upto = Math.round((N * s) / STEPS);
            const slice = auths.slice(done, upto);
            const per = Math.ceil(slice.length / G);
            const res = (await Promise.all(
              gens.map((g, i) =>
                g.call('connect', {
                  url: server.url,
                  auths: slice.slice(i * per, (i + 1) * per),
                  concurrency: 50,
                }),
              ),
            )) as { opened: number; failed: number; elapsedMs: number; firstError: string | null }[];
            connectMs += Math.max(...res.map((x) => x.elapsedMs));
            failed += res.reduce((a, x) => a + x.failed, 0);
            const err = res.find((x) => x.firstError)?.firstError;
            if (err) ctx.log(`${arm}: ${failed} failed connects, first: ${err}`);
            done = upto;
            await sleep(ctx.quick ? 100 : 500);
            const p = await server.proc.probe(true, s === STEPS ? snap('full') : undefined);
            points.push({
              sockets: done - failed,
              heapMB: p.heapUsed / MB,
              rssMB: p.rss / MB,
              redisMB: ((await redisUsed(redis.client)) - r0) / MB,
            });
          }
          // Idle: nothing but pings.
          await server.proc.probe(false);
          const c0 = cpuMsOf(server.proc.pid);
          await sleep(IDLE_MS);
          const c1 = cpuMsOf(server.proc.pid);
          const idle = await server.proc.probe(false);
          const top = points.at(-1)!;
          const n = Math.max(1, top.sockets);
          const run: ArmRun = {
            points: points.map((p) => ({
              sockets: p.sockets,
              heapMB: Number(p.heapMB.toFixed(2)),
              rssMB: Number(p.rssMB.toFixed(2)),
              redisMB: Number(p.redisMB.toFixed(2)),
            })),
            heapPerSocketKB: Number((((top.heapMB - points[0]!.heapMB) * 1024) / n).toFixed(2)),
            rssPerSocketKB: Number((((top.rssMB - points[0]!.rssMB) * 1024) / n).toFixed(2)),
            redisPerSocketKB: Number(((top.redisMB * 1024) / n).toFixed(2)),
            baseHeapMB: Number(points[0]!.heapMB.toFixed(2)),
            connectPerSecond: Math.round((N * 1000) / connectMs),
            idleCpuPercent: Number((((c1 - c0) / IDLE_MS) * 100).toFixed(2)),
            eldP50Ms: Number(idle.eldP50Ms.toFixed(2)),
            eldP99Ms: Number(idle.eldP99Ms.toFixed(2)),
            eldMaxMs: Number(idle.eldMaxMs.toFixed(2)),
            failed,
          };
          runs[arm]!.push(run);
          ctx.log(
            `rep ${r + 1} ${arm}: ${n} sockets, heap ${run.heapPerSocketKB} KB/socket, rss ${run.rssPerSocketKB} KB, redis ${run.redisPerSocketKB} KB, ${run.connectPerSecond} connects/s`,
          );
        } finally {
          await Promise.all(gens.map((g) => g.call('closeAll')));
          await server.stop();
        }
      }
    }
  } finally {
    await stopInOrder(gens, redis);
  }
  const field = (arm: string, k: keyof ArmRun) => spread(runs[arm]!.map((x) => x[k] as number));
  const keysShown: [keyof ArmRun, string][] = [
    ['heapPerSocketKB', 'heap KB/socket'],
    ['rssPerSocketKB', 'RSS KB/socket'],
    ['redisPerSocketKB', 'Redis KB/socket'],
    ['baseHeapMB', 'heap with no socket, MB'],
    ['connectPerSecond', 'connects/s'],
    ['idleCpuPercent', 'idle CPU % of a core'],
    ['eldP99Ms', 'idle event-loop delay p99 ms'],
    ['eldMaxMs', 'idle event-loop delay max ms'],
  ];
  const fmt = (s: { median: number; min: number; max: number }) => `${s.median} (${s.min}–${s.max})`;
  const summary = Object.fromEntries(
    ['ours', 'bare'].map((arm) => [arm, Object.fromEntries(keysShown.map(([k]) => [k, field(arm, k)]))]),
  );
  const ratio = field('ours', 'heapPerSocketKB').median / field('bare', 'heapPerSocketKB').median;
  const at50k = (arm: string) =>
    (field(arm, 'baseHeapMB').median + (field(arm, 'heapPerSocketKB').median * 50_000) / 1024) / 1024;
  const sockets = runs.ours!.at(-1)?.points.at(-1)?.sockets ?? 0;
  const markdown = [
    `${N} idle authenticated sockets per arm on one instance (ours: token + clientId, lastSeq 0; bare: the same adapter and engine settings, one room per user), opened by ${G} generator processes on core 1 (50 connects in flight each, sources 127.0.0.2–9), server on core 0; memory after two forced GCs inside the server, per socket = (top − empty) / sockets; ${ctx.reps} repetitions, a fresh server each, arms alternating; medians with (min–max). Idle window ${IDLE_MS / 1000} s.`,
    '',
    '| per socket / arm | ours | bare Socket.io | ours / bare |',
    '| --- | ---: | ---: | ---: |',
    ...keysShown.map(([k, label]) => {
      const o = field('ours', k);
      const b = field('bare', k);
      return `| ${label} | ${fmt(o)} | ${fmt(b)} | ${b.median ? (o.median / b.median).toFixed(2) : '–'} |`;
    }),
    '',
    `Extrapolated to 50,000 sockets on one instance: ours ${at50k('ours').toFixed(2)} GiB of heap, bare ${at50k('bare').toFixed(2)} GiB (empty heap + 50,000 × heap per socket).`,
  ].join('\n');
  const series = (arm: string, k: 'heapMB' | 'rssMB') => ({
    name: `${arm} ${k === 'heapMB' ? 'heap' : 'rss'}`,
    points: (runs[arm]!.at(-1)?.points ?? []).map((p) => ({ x: p.sockets, y: p[k] })),
  });
  return {
    config: { sockets: N, generators: G, idleMs: IDLE_MS, steps: STEPS, reps: ctx.reps },
    data: {
      summary,
      runs,
      heapRatio: Number(ratio.toFixed(3)),
      heapAt50kGiB: { ours: at50k('ours'), bare: at50k('bare') },
    },
    targets: [
      {
        name: `idle heap per socket vs bare (${sockets} sockets)`,
        target: '≤ 1.2×',
        value: `${ratio.toFixed(2)}×`,
        met: ratio <= 1.2,
      },
      {
        name: '50,000 sockets per instance in 1 GiB of heap',
        target: '≤ 1 GiB',
        value: `${at50k('ours').toFixed(2)} GiB`,
        met: at50k('ours') <= 1,
      },
    ],
    markdown,
    charts: {
      'connections-memory.png': {
        title: 'memory vs idle connections',
        xLabel: 'sockets',
        yLabel: 'MB',
        series: [
          series('ours', 'heapMB'),
          series('bare', 'heapMB'),
          series('ours', 'rssMB'),
          series('bare', 'rssMB'),
        ],
      },
    },
  };
}

export default defineScenario('connections', 'idle authenticated sockets: memory, CPU, connect rate', run);
