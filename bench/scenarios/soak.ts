// soak: steady call churn over many sockets on two instances for a while: heap, RSS, timers and handles
// of each instance (after a forced GC) and Redis keys and memory, sampled all along, must be flat at the
// end: the end compared with the start of the churn, and, once the churn stops, with before it.
// The baseline here is the product's own state before the churn (the whole-stack soak with every service
// is faults/test/soak.test.ts).
import { keys as redisKeys } from '@voip/contracts/redis-keys';
import { spread } from '../lib/hdr.ts';
import type { ChartSpec } from '../lib/png.ts';
import { type Proc, sleep, spawnWorker } from '../lib/proc.ts';
import { defineScenario, knob, type RunContext, stopInOrder } from '../lib/scenario.ts';
import { benchRedis, principals, startSignaling } from '../lib/stack.ts';

const MB = 1024 * 1024;

async function keysWithoutTtl(
  redis: import('ioredis').Redis,
): Promise<{ total: number; noTtl: number; sample: string[] }> {
  let cursor = '0';
  let total = 0;
  let noTtl = 0;
  const sample: string[] = [];
  do {
    const [next, batch] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    total += batch.length;
    const pipe = redis.pipeline();
    for (const k of batch) pipe.pttl(k);
    const ttls = (await pipe.exec()) ?? [];
    ttls.forEach(([, t], i) => {
      if (t === -1) {
        noTtl++;
        if (sample.length < 2000) sample.push(batch[i]!.replace(/[0-9A-HJKMNP-TV-Z]{26}/g, '*'));
      }
    });
  } while (cursor !== '0');
  return { total, noTtl, sample };
}

async function run(ctx: RunContext) {
  const MINUTES = knob('BENCH_SOAK_MINUTES', 2, 0.1);
  const SOCKETS = knob('BENCH_SOAK_SOCKETS', 2000, 50);
  const PAIRS = knob('BENCH_SOAK_PAIRS', 20, 2);
  const PAUSE = knob('BENCH_SOAK_PAUSE_MS', 1000, 200);
  const SAMPLE_MS = knob('BENCH_SOAK_SAMPLE_MS', 10_000, 2000);
  const redis = await benchRedis();
  const inst = [await startSignaling(redis.url, 'A'), await startSignaling(redis.url, 'B')];
  const G = Math.max(2, Math.ceil(SOCKETS / 5000));
  const idleGens: Proc[] = Array.from({ length: G }, (_, i) =>
    spawnWorker(`soak-idle-${i}`, 'scenarios/connections.gen.ts'),
  );
  const gen = spawnWorker('soak-calls', 'scenarios/cross.gen.ts');
  try {
    // Idle sockets, half on each instance.
    const idle = await principals(redis.client, SOCKETS);
    const per = Math.ceil(SOCKETS / G);
    await Promise.all(
      idleGens.map(async (g, i) => {
        const mine = idle.slice(i * per, (i + 1) * per);
        const half = Math.ceil(mine.length / 2);
        for (const [j, part] of [mine.slice(0, half), mine.slice(half)].entries())
          await g.call('connect', {
            url: inst[j]!.url,
            auths: part.map((p) => ({ token: p.token, clientId: p.clientId, lastSeq: 0 })),
            concurrency: 50,
          });
      }),
    );
    const people = await principals(redis.client, PAIRS * 2);
    const devices = people.map((p, i) => ({
      name: `d${i}`,
      url: inst[i % 2]!.url,
      auth: { token: p.token, clientId: p.clientId, lastSeq: 0 },
    }));
    await gen.call('connect', { devices });
    const pairs = Array.from({ length: PAIRS }, (_, i) => ({
      caller: `d${2 * i}`,
      callee: `d${2 * i + 1}`,
      callerId: people[2 * i]!.userId,
      calleeId: people[2 * i + 1]!.userId,
    }));
    ctx.log(`${SOCKETS + PAIRS * 2} sockets connected; warm-up churn`);
    await gen.call('churn', {
      redisUrl: redis.url,
      pairs,
      durationMs: ctx.quick ? 1000 : 5000,
      pauseMs: PAUSE,
    });
    await sleep(ctx.quick ? 300 : 2000);

    type Sample = {
      tS: number;
      heapMB: number[];
      rssMB: number[];
      timers: number[];
      handles: number[];
      redisKeys: number;
      redisMB: number;
    };
    const t0 = performance.now();
    const sample = async (): Promise<Sample> => {
      const probes = await Promise.all(inst.map((s) => s.proc.probe()));
      const info = await redis.client.info('memory');
      return {
        tS: Number(((performance.now() - t0) / 1000).toFixed(1)),
        heapMB: probes.map((p) => Number((p.heapUsed / MB).toFixed(2))),
        rssMB: probes.map((p) => Number((p.rss / MB).toFixed(2))),
        timers: probes.map((p) => p.resources.Timeout ?? 0),
        handles: probes.map((p) => Object.values(p.resources).reduce((a, b) => a + b, 0)),
        redisKeys: await redis.client.dbsize(),
        redisMB: Number((Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0) / MB).toFixed(2)),
      };
    };
    const before = await sample();
    const keysBefore = await keysWithoutTtl(redis.client);
    const samples: Sample[] = [before];
    const churn = gen.call(
      'churn',
      { redisUrl: redis.url, pairs, durationMs: MINUTES * 60_000, pauseMs: PAUSE },
      MINUTES * 60_000 + 300_000,
    ) as Promise<{
      ok: number;
      failed: number;
      errors: string[];
      setupMs: number[];
    }>;
    let done = false;
    void churn.finally(() => {
      done = true;
    });
    while (!done) {
      await Promise.race([sleep(SAMPLE_MS), churn]);
      if (!done) samples.push(await sample());
    }
    const res = await churn;
    ctx.log(`${res.ok} calls, ${res.failed} failed${res.failed ? `: ${res.errors.join('; ')}` : ''}`);
    const lastUnderLoad = samples.at(-1)!;
    await sleep(ctx.quick ? 1000 : 5000);
    const after = await sample();
    samples.push(after);
    const keysAfter = await keysWithoutTtl(redis.client);
    // Call records of ended calls are kept (with a TTL) for late readers: counted apart.
    const callKeys = Number(
      await redis.client.eval(`return #redis.call('KEYS', ARGV[1])`, 0, redisKeys.call('*')),
    );
    const firstUnderLoad = samples[1] ?? before;
    const growth = (a: number, b: number) => (a ? (b - a) / a : 0);
    const heapGrowth = inst.map((_, i) => growth(firstUnderLoad.heapMB[i]!, lastUnderLoad.heapMB[i]!));
    const heapBackTo = inst.map((_, i) => growth(before.heapMB[i]!, after.heapMB[i]!));
    const timersDelta = inst.map((_, i) => after.timers[i]! - before.timers[i]!);
    const handlesDelta = inst.map((_, i) => after.handles[i]! - before.handles[i]!);
    const noTtlDelta = keysAfter.noTtl - keysBefore.noTtl;
    const newNoTtl = [...new Set(keysAfter.sample.filter((k) => !keysBefore.sample.includes(k)))].slice(
      0,
      10,
    );
    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const setup = spread(res.setupMs);
    const markdown = [
      `${MINUTES} min of churn: ${PAIRS} pairs (caller and callee on different instances) each making a complete call (call-user → accepted → 4 ICE each way → end → ended), then pausing ${PAUSE} ms, beside ${SOCKETS} idle sockets spread over both instances (${SOCKETS + PAIRS * 2} in all). Samples every ${SAMPLE_MS / 1000} s after a forced GC in each instance. ${res.ok} calls (${(res.ok / (MINUTES * 60) || 0).toFixed(1)}/s), ${res.failed} failed; setup p50 ${setup.median.toFixed(1)} ms.`,
      '',
      '| | before churn | first sample under churn | last sample under churn | after the churn |',
      '| --- | ---: | ---: | ---: | ---: |',
      `| heap MB (A, B) | ${before.heapMB.join(', ')} | ${firstUnderLoad.heapMB.join(', ')} | ${lastUnderLoad.heapMB.join(', ')} | ${after.heapMB.join(', ')} |`,
      `| RSS MB (A, B) | ${before.rssMB.join(', ')} | ${firstUnderLoad.rssMB.join(', ')} | ${lastUnderLoad.rssMB.join(', ')} | ${after.rssMB.join(', ')} |`,
      `| timers (A, B) | ${before.timers.join(', ')} | ${firstUnderLoad.timers.join(', ')} | ${lastUnderLoad.timers.join(', ')} | ${after.timers.join(', ')} |`,
      `| handles (A, B) | ${before.handles.join(', ')} | ${firstUnderLoad.handles.join(', ')} | ${lastUnderLoad.handles.join(', ')} | ${after.handles.join(', ')} |`,
      `| Redis keys | ${before.redisKeys} | ${firstUnderLoad.redisKeys} | ${lastUnderLoad.redisKeys} | ${after.redisKeys} |`,
      `| Redis MB | ${before.redisMB} | ${firstUnderLoad.redisMB} | ${lastUnderLoad.redisMB} | ${after.redisMB} |`,
      '',
      `Keys without a TTL: ${keysBefore.noTtl} before, ${keysAfter.noTtl} after${newNoTtl.length ? ` (new kinds: ${newNoTtl.map((k) => `\`${k}\``).join(', ')})` : ''}. Of the keys after, ${callKeys} are ended calls' records, kept with a TTL for late readers (the key count grows with the calls made until that TTL, by design).`,
    ].join('\n');
    const chart = (title: string, y: string, pick: (s: Sample) => number[]): ChartSpec => ({
      title,
      xLabel: 'seconds',
      yLabel: y,
      series: ['A', 'B'].map((n, i) => ({
        name: n,
        points: samples.map((s) => ({ x: s.tS, y: pick(s)[i]! })),
      })),
    });
    return {
      config: { minutes: MINUTES, sockets: SOCKETS, pairs: PAIRS, pauseMs: PAUSE, sampleMs: SAMPLE_MS },
      data: {
        samples,
        calls: res.ok,
        failed: res.failed,
        errors: res.errors,
        setupMs: setup,
        keysBefore: keysBefore.noTtl,
        keysAfter: keysAfter.noTtl,
        callKeys,
        heapGrowth,
        heapBackTo,
        timersDelta,
        handlesDelta,
      },
      targets: [
        {
          name: 'heap growth under churn, first → last sample (A, B)',
          target: '< 10%',
          value: heapGrowth.map(pct).join(', '),
          met: heapGrowth.every((g) => g < 0.1),
        },
        {
          name: 'timers after the churn vs before (A, B)',
          target: '0',
          value: timersDelta.join(', '),
          met: timersDelta.every((d) => d <= 0),
        },
        {
          name: 'Redis keys without a TTL, after vs before',
          target: '0',
          value: String(noTtlDelta),
          met: noTtlDelta <= 0,
        },
        { name: 'failed calls', target: '0', value: String(res.failed), met: res.failed === 0 },
      ],
      markdown,
      charts: {
        'soak-heap.png': chart('soak: heap after GC', 'heap MB', (s) => s.heapMB),
        'soak-timers.png': chart('soak: active timers', 'timers', (s) => s.timers),
      },
    };
  } finally {
    await gen.call('closeAll').catch(() => undefined);
    await stopInOrder(gen, idleGens, ...inst, redis);
  }
}

export default defineScenario('soak', 'steady call churn over many sockets: memory, keys, timers flat', run);
