// gateway: authenticated `GET /api/users/me` through apps/gateway vs straight to the same upstream (a real
// service built with createService: its own token and session check), with one user (every session
// check a cache hit, as the old autocannon benchmark) and with thousands of distinct users and sessions
// (cache misses). Highest rate with 50 requests outstanding, then open-loop latency at fixed fractions of
// the direct path's highest rate. Everything interleaved; servers on core 0, generator on core 1.
import { fileURLToPath } from 'node:url';
import { testKeys } from '@voip/testkit/env';
import { freePort } from '@voip/testkit/servers';
import { spread } from '../lib/hdr.ts';
import type { ChartSpec } from '../lib/png.ts';
import { cores, cpuMsOf, repoDir, spawnNode, spawnWorker, waitFor } from '../lib/proc.ts';
import { defineScenario, knob, knobList, type RunContext, stopInOrder } from '../lib/scenario.ts';
import { benchRedis, internalToken, principals } from '../lib/stack.ts';

const FRACTIONS = knobList('BENCH_GATEWAY_FRACTIONS', [0.25, 0.5, 0.8], [0.5]);

async function run(ctx: RunContext) {
  const USERS = knob('BENCH_GATEWAY_USERS', 20_000, 100);
  const SAT_MS = knob('BENCH_GATEWAY_SATURATE_MS', 4000, 400);
  const OPEN_MS = knob('BENCH_GATEWAY_OPEN_MS', 4000, 400);
  const redis = await benchRedis();
  const gatewayDir = `${repoDir}apps/gateway`;
  const common = {
    HOST: '127.0.0.1',
    REDIS_URL: redis.url,
    JWT_PUBLIC_KEY: testKeys().publicKey,
    INTERNAL_TOKEN: internalToken,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
  };
  const [upPort, gwPort] = [await freePort(), await freePort()];
  const upstream = spawnNode({
    name: 'upstream',
    core: cores.server,
    script: `${gatewayDir}/bench/echo-service.ts`,
    cwd: gatewayDir,
    probe: true,
    env: { ...common, PORT: String(upPort) },
  });
  const upUrl = `http://127.0.0.1:${upPort}`;
  const gateway = spawnNode({
    name: 'gateway',
    core: cores.server,
    script: fileURLToPath(new URL(`file://${gatewayDir}/dist/server.js`)),
    cwd: gatewayDir,
    probe: true,
    env: {
      ...common,
      PORT: String(gwPort),
      AUTH_UPSTREAMS: upUrl,
      USER_UPSTREAMS: upUrl,
      CALL_UPSTREAMS: upUrl,
      RATE_LIMIT_USER_MAX: '1000000000',
    },
  });
  const gwUrl = `http://127.0.0.1:${gwPort}`;
  const gen = spawnWorker('gateway-gen', 'scenarios/gateway.gen.ts');
  try {
    for (const [p, u] of [
      [upstream, upUrl],
      [gateway, gwUrl],
    ] as const)
      await waitFor(`${p.name} ready`, async () => {
        if (p.child.exitCode !== null) throw new Error(`${p.name} exited: ${p.tail()}`);
        return (await fetch(`${u}/ready`)).ok;
      });
    const people = await principals(redis.client, USERS);
    const one = [people[0]!.token];
    const many = people.map((p) => p.token);
    const arms = [
      { name: 'direct, one user', url: `${upUrl}/api/users/me`, tokens: one },
      { name: 'gateway, one user', url: `${gwUrl}/api/users/me`, tokens: one },
      { name: `direct, ${USERS} users`, url: `${upUrl}/api/users/me`, tokens: many },
      { name: `gateway, ${USERS} users`, url: `${gwUrl}/api/users/me`, tokens: many },
    ];
    const pids = [gateway.pid, upstream.pid, redis.pid];
    for (const arm of arms)
      await gen.call('saturate', { ...arm, concurrency: 50, durationMs: Math.min(1000, SAT_MS) });
    const max: Record<string, number[]> = {};
    const cpu: Record<string, number[]> = {};
    const bad: Record<string, number> = {};
    for (let r = 0; r < ctx.reps; r++)
      for (let k = 0; k < arms.length; k++) {
        const arm = arms[(k + r) % arms.length]!;
        const c0 = pids.map(cpuMsOf);
        const res = (await gen.call('saturate', { ...arm, concurrency: 50, durationMs: SAT_MS })) as {
          perSecond: number;
          ok: number;
          bad: number;
        };
        const c1 = pids.map(cpuMsOf);
        max[arm.name] ??= [];
        max[arm.name]!.push(Math.round(res.perSecond));
        cpu[arm.name] ??= [];
        cpu[arm.name]!.push(((c1[0]! - c0[0]!) * 1000) / Math.max(1, res.ok));
        bad[arm.name] = (bad[arm.name] ?? 0) + res.bad;
      }
    const maxS = Object.fromEntries(Object.entries(max).map(([k, v]) => [k, spread(v)]));
    const ref = maxS['direct, one user']!.median;
    type OL = { offered: number; ok: number; bad: number; latency: { p50Ms: number; p99Ms: number } };
    const open: Record<string, Record<string, OL[]>> = {};
    for (let r = 0; r < ctx.reps; r++)
      for (const f of FRACTIONS)
        for (let k = 0; k < arms.length; k++) {
          const arm = arms[(k + r) % arms.length]!;
          const res = (await gen.call('openLoop', {
            ...arm,
            rate: Math.max(10, Math.round(ref * f)),
            durationMs: OPEN_MS,
          })) as OL;
          open[arm.name] ??= {};
          const byF = open[arm.name]!;
          byF[String(f)] ??= [];
          byF[String(f)]!.push(res);
          bad[arm.name] = (bad[arm.name] ?? 0) + res.bad;
        }
    const q = (arm: string, f: number, k: 'p50Ms' | 'p99Ms') =>
      spread((open[arm]?.[String(f)] ?? []).map((x) => x.latency[k])).median;
    const fmt = (s: { median: number; min: number; max: number }) => `${s.median} (${s.min}–${s.max})`;
    const markdown = [
      `Authenticated \`GET /api/users/me\`: through the gateway (edge token + session check, rate limit, proxy) vs straight to the upstream service (its own token + session check); one user (cache hits) and ${USERS} distinct users and sessions, round robin (cache misses). Max: 50 requests outstanding for ${SAT_MS / 1000} s; open loop: ${OPEN_MS / 1000} s at fractions of the direct one-user max (${ref}/s), latency from the intended send time (HDR). ${ctx.reps} repetitions, interleaved; medians (min–max). Gateway CPU: µs of the gateway process per request.`,
      '',
      `| arm | max req/s | gateway CPU µs/req | ${FRACTIONS.map((f) => `p50 / p99 ms at ${f * 100}%`).join(' | ')} | failed |`,
      `| --- | ---: | ---: | ${FRACTIONS.map(() => '---:').join(' | ')} | ---: |`,
      ...arms.map(
        (arm) =>
          `| ${arm.name} | ${fmt(maxS[arm.name]!)} | ${arm.name.startsWith('gateway') ? spread(cpu[arm.name]!).median.toFixed(0) : '–'} | ${FRACTIONS.map((f) => `${q(arm.name, f, 'p50Ms')} / ${q(arm.name, f, 'p99Ms')}`).join(' | ')} | ${bad[arm.name] ?? 0} |`,
      ),
    ].join('\n');
    const ratioMany = maxS[`gateway, ${USERS} users`]!.median / maxS[`direct, ${USERS} users`]!.median;
    return {
      config: { users: USERS, saturateMs: SAT_MS, openMs: OPEN_MS, fractions: FRACTIONS, reps: ctx.reps },
      data: {
        maxPerSecond: maxS,
        gatewayCpuUsPerRequest: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, spread(v)])),
        openLoop: open,
        failed: bad,
      },
      targets: [
        {
          name: `gateway throughput vs direct, ${USERS} users (no target in the issue; recorded)`,
          target: 'recorded',
          value: `${ratioMany.toFixed(2)}×`,
          met: true,
        },
      ],
      markdown,
      charts: {
        'gateway-latency.png': {
          title: 'gateway p99 latency vs offered load',
          xLabel: 'offered req/s',
          yLabel: 'p99 ms',
          logY: true,
          series: arms.map((arm) => ({
            name: arm.name,
            points: FRACTIONS.map((f) => ({ x: Math.round(ref * f), y: q(arm.name, f, 'p99Ms') })),
          })),
        } satisfies ChartSpec,
      },
    };
  } finally {
    await stopInOrder(gen, gateway, upstream, redis);
  }
}

export default defineScenario('gateway', 'HTTP through the gateway vs direct, cache hits and misses', run);
