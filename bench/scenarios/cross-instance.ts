// cross-instance: three instances of ours; every call has its caller on A and its callee on B, each user
// with contacts (watchers of their presence) connected on A and B; C holds only bystanders. Counts, per
// call, the pub/sub messages each instance receives (lib/redis-tap.ts inside the process), by kind: what
// reaches the uninvolved C is pure overhead. The ideal baseline is 0 at C.
import { createCallStore } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import { createAudioCall } from '../lib/device.ts';
import { spread } from '../lib/hdr.ts';
import { sleep, spawnWorker } from '../lib/proc.ts';
import { defineScenario, knob, type RunContext, stopInOrder } from '../lib/scenario.ts';
import { benchRedis, principals, startSignaling } from '../lib/stack.ts';

const diff = (a: Record<string, number> = {}, b: Record<string, number> = {}) => {
  const out: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = (b[k] ?? 0) - (a[k] ?? 0);
    if (d) out[k] = d;
  }
  return out;
};

async function run(ctx: RunContext) {
  const PAIRS = knob('BENCH_CROSS_PAIRS', 10, 1);
  const CALLS = knob('BENCH_CROSS_CALLS_PER_PAIR', 5, 1);
  const WATCHERS = knob('BENCH_CROSS_WATCHERS', 3, 2);
  const BYSTANDERS = knob('BENCH_CROSS_BYSTANDERS', 20, 2);
  const redis = await benchRedis();
  const inst = [
    await startSignaling(redis.url, 'A', {}, [], true),
    await startSignaling(redis.url, 'B', {}, [], true),
    await startSignaling(redis.url, 'C', {}, [], true),
  ];
  const gen = spawnWorker('cross-gen', 'scenarios/cross.gen.ts');
  try {
    const [A, B, C] = inst as [(typeof inst)[0], (typeof inst)[0], (typeof inst)[0]];
    const people = await principals(redis.client, PAIRS * 2 * (1 + WATCHERS) + BYSTANDERS);
    const devices: { name: string; url: string; auth: Record<string, unknown> }[] = [];
    const dev = (name: string, url: string, p: (typeof people)[0]) =>
      devices.push({ name, url, auth: { token: p.token, clientId: p.clientId, lastSeq: 0 } });
    let k = 0;
    const pairs: { x: (typeof people)[0]; y: (typeof people)[0] }[] = [];
    for (let i = 0; i < PAIRS; i++) {
      const x = people[k++]!;
      const y = people[k++]!;
      pairs.push({ x, y });
      dev(`x${i}`, A.url, x);
      dev(`y${i}`, B.url, y);
      for (const [u, tag] of [
        [x, 'x'],
        [y, 'y'],
      ] as const)
        for (let w = 0; w < WATCHERS; w++) {
          const watcher = people[k++]!;
          await redis.client.sadd(keys.contactWatchers(u.userId), watcher.userId);
          dev(`w${tag}${i}-${w}`, w % 2 === 0 ? A.url : B.url, watcher);
        }
    }
    for (let i = 0; i < BYSTANDERS; i++) dev(`c${i}`, C.url, people[k++]!);
    await gen.call('connect', { devices });
    const store = createCallStore(redis.client, { producerSource: 'bench', ringTimeoutMs: 600_000 });
    const tap = async () => Promise.all(inst.map(async (s) => (await s.proc.probe(false)).tap ?? {}));
    await sleep(ctx.quick ? 300 : 2000);

    // Background: the same time with no call.
    const perCall: Record<string, number>[][] = [[], [], []];
    const background: Record<string, number>[][] = [[], [], []];
    const setup: number[] = [];
    let failed = 0;
    for (let r = 0; r < ctx.reps; r++) {
      // Background: 2 s with no call (instance heartbeats and the like), reported per second.
      const b0 = await tap();
      await sleep(ctx.quick ? 500 : 2000);
      const b1 = await tap();
      const t0 = await tap();
      let ok = 0;
      for (let c = 0; c < CALLS; c++) {
        // One call per pair at a time, the pairs in parallel (a caller has one call at a time).
        const calls = [];
        for (let i = 0; i < PAIRS; i++) {
          const { x, y } = pairs[i]!;
          const callId = await createAudioCall(store, x.userId, y.userId);
          calls.push({ caller: `x${i}`, callee: `y${i}`, callId });
        }
        const res = (await gen.call('calls', { calls, concurrency: PAIRS })) as {
          ok: number;
          failed: number;
          errors: string[];
          setupMs: number[];
        };
        ok += res.ok;
        failed += res.failed;
        if (res.failed) ctx.log(`failed calls: ${res.errors.join('; ')}`);
        setup.push(...res.setupMs);
      }
      await sleep(ctx.quick ? 300 : 1000);
      const t1 = await tap();
      for (let j = 0; j < 3; j++) {
        const d = diff(t0[j], t1[j]);
        perCall[j]!.push(Object.fromEntries(Object.entries(d).map(([kk, v]) => [kk, v / Math.max(1, ok)])));
        background[j]!.push(
          Object.fromEntries(
            Object.entries(diff(b0[j], b1[j])).map(([kk, v]) => [kk, v / (ctx.quick ? 0.5 : 2)]),
          ),
        );
      }
      ctx.log(`rep ${r + 1}: ${ok} calls; C received ${JSON.stringify(diff(t0[2], t1[2]))}`);
    }
    const names = ['A (callers)', 'B (callees)', 'C (uninvolved)'];
    const summary = perCall.map((reps) => {
      const ks = new Set(reps.flatMap((x) => Object.keys(x)));
      return Object.fromEntries([...ks].sort().map((kk) => [kk, spread(reps.map((x) => x[kk] ?? 0))]));
    });
    const atC = Object.values(summary[2]!).reduce((s, v) => s + v.median, 0);
    const rows: string[] = [];
    const kinds = [...new Set(summary.flatMap((s) => Object.keys(s)))].sort();
    for (const kind of kinds)
      rows.push(
        `| ${kind} | ${summary.map((s) => (s[kind] ? s[kind].median.toFixed(2) : '0')).join(' | ')} |`,
      );
    const markdown = [
      `${PAIRS} pairs × ${CALLS} calls × ${ctx.reps} repetitions: caller on A, callee on B, complete calls (call-user → accepted → 4 ICE each way → end-call → call-ended on both), each user with ${WATCHERS} contacts watching their presence (connected on A and B), ${BYSTANDERS} bystanders on C. Pub/sub messages received per call by each instance's Redis connections (counted inside the process), by kind (channel, and for the Socket.io adapter the event carried); medians of the repetitions.`,
      '',
      `| kind | ${names.join(' | ')} |`,
      '| --- | ---: | ---: | ---: |',
      ...rows,
      `| **total** | ${summary
        .map((s) =>
          Object.values(s)
            .reduce((a, v) => a + v.median, 0)
            .toFixed(2),
        )
        .join(' | ')} |`,
      '',
      `Call setup (call-user → call-accepted) across A and B: p50 ${spread(setup).median.toFixed(2)} ms over ${setup.length} calls; ${failed} failed.`,
    ].join('\n');
    return {
      config: {
        pairs: PAIRS,
        callsPerPair: CALLS,
        watchers: WATCHERS,
        bystanders: BYSTANDERS,
        reps: ctx.reps,
      },
      data: {
        perCall: Object.fromEntries(names.map((n, j) => [n, summary[j]])),
        backgroundPerSecond: background,
        failed,
      },
      targets: [
        {
          name: 'messages reaching uninvolved instance C per call',
          target: '~0',
          value: atC.toFixed(2),
          met: atC < 0.1,
        },
      ],
      markdown,
    };
  } finally {
    await gen.call('closeAll').catch(() => undefined);
    await stopInOrder(gen, ...inst, redis);
  }
}

export default defineScenario('cross-instance', 'what reaches an uninvolved instance per call', run);
