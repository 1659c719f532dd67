// call-setup: complete calls through the real stack (Nginx, gateway, auth, user, call, two signaling
// instances, Redis, the MongoDB-compatible server; `startStack`, the product's per-user limits raised
// through configuration for the bench only), open loop at rising offered rates. Each call: REST initiate
// → call-user → incoming-call → accept-call → call-accepted → 4 ICE each way → end-call → call-ended on
// both (call-setup.gen.ts), then its history record (call service) and sync entries (user service) are
// read from the database to measure history lag (call end → record written). Per step: completed calls/s,
// failures by kind, latency per phase (HDR, from each call's intended start), CPU per call of every
// process of the stack, and how long the call-history and user-sync consumer groups took to drain.
// The stack runs on the server core and the generator on the load core (BENCH_CALL_PIN=0: both free).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keys, streams } from '@voip/contracts/redis-keys';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { ulid } from 'ulid';
import { histogram, type LatencySummary, spread } from '../lib/hdr.ts';
import type { ChartSpec } from '../lib/png.ts';
import { cores, cpuMsOf, sleep, spawnWorker } from '../lib/proc.ts';
import { defineScenario, knob, knobList, type RunContext } from '../lib/scenario.ts';
import type { PairSpec, Person, StepResult } from './call-setup.gen.ts';

const SETUP_P99_GOAL_MS = 100;
const TARGET_PER_SECOND = 300;

/** Per-user and per-address limits a one-address generator would hit, raised for the bench only. */
const ROOMY = {
  gateway: {
    RATE_LIMIT_CREDENTIALS_MAX: '10000000',
    RATE_LIMIT_ANON_MAX: '10000000',
    RATE_LIMIT_USER_MAX: '10000000',
  },
  auth: { REGISTER_MAX_PER_IP: '10000000', GUEST_MAX_PER_IP: '10000000' },
  signaling: {
    CONNECTIONS_PER_IP: '10000000',
    UNAUTHENTICATED_PER_IP: '10000000',
    EVENTS_PER_SECOND: '100000',
    EVENT_BURST: '100000',
  },
  call: {
    CALL_RATE_LIMIT: '10000000',
    RING_LIMIT_PER_PAIR: '10000000',
    RING_LIMIT_PER_CALLEE_FROM_STRANGERS: '10000000',
  },
};

/** Every pid under `root` (Nginx's workers, a service's children), from /proc. */
function treeOf(root: number): number[] {
  const parent = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const s = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[1]);
      const list = parent.get(ppid) ?? [];
      list.push(Number(d));
      parent.set(ppid, list);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    out.push(p);
    for (const c of parent.get(p) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/**
 * The PostgreSQL postmaster under the stack's FerretDB (packages/testkit/bin/ferretdb-pg): pg_ctl
 * detaches it, so it is not in the "mongo" process's tree. Its data dir is in the stack's state dir, or
 * (as root) in a folder whose `owner` file names a dir in it.
 */
function postmasterOf(stateDir: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('-D');
      if (!argv[0]?.endsWith('/postgres') || i < 0) continue;
      const data = argv[i + 1] ?? '';
      if (data.startsWith(stateDir)) return Number(d);
      const owner = readFileSync(join(data, '..', 'owner'), 'utf8');
      if (owner.startsWith(stateDir)) return Number(d);
    } catch {
      /* gone, or not ours */
    }
  }
  return undefined;
}

/** CPU ms per stack process (name#index, Nginx with its workers, PostgreSQL with its backends). */
function cpuByProcess(stack: Stack, stateDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const pg = postmasterOf(stateDir);
  if (pg) out.postgres = treeOf(pg).reduce((a, pid) => a + cpuMsOf(pid), 0);
  for (const p of stack.processes) {
    if (!p.pid) continue;
    const name = p.index > 0 || p.name === 'signaling' ? `${p.name}#${p.index}` : p.name;
    out[name] = treeOf(p.pid).reduce((a, pid) => a + cpuMsOf(pid), 0);
  }
  return out;
}

const diff = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(Object.keys(b).map((k) => [k, Math.round((b[k] ?? 0) - (a[k] ?? 0))]));

async function groupLag(redis: Redis): Promise<Record<string, number>> {
  const rows = (await redis.xinfo('GROUPS', streams.callEvents).catch(() => [])) as unknown[][];
  const out: Record<string, number> = {};
  for (const row of rows) {
    const info: Record<string, unknown> = {};
    for (let i = 0; i + 1 < row.length; i += 2) info[String(row[i])] = row[i + 1];
    out[String(info.name)] = Number(info.lag ?? 0) + Number(info.pending ?? 0);
  }
  return out;
}

async function makeGuests(url: string, n: number): Promise<Person[]> {
  const out: Person[] = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, async (_, j) => {
        const res = await fetch(`${url}/api/auth/guest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ displayName: `Bench ${i + j}` }),
        });
        if (res.status !== 201) throw new Error(`guest: ${res.status} ${await res.text()}`);
        const b = (await res.json()) as { guest: { id: string }; accessToken: string };
        return { userId: b.guest.id, clientId: ulid(), token: b.accessToken };
      }),
    );
    out.push(...batch);
  }
  return out;
}

interface HistoryLag {
  calls: number;
  recorded: number;
  /** call end (call-state's endedAt) → final record written (recordedAt), ms */
  record: LatencySummary;
  /** call end → the call entry in the participants' sync feeds, ms */
  sync: LatencySummary;
  syncEntries: number;
}

async function historyLag(db: { calls: mongoose.mongo.Db; users: mongoose.mongo.Db }, since: Date) {
  const calls = await db.calls
    .collection('calls')
    .find({ createdAt: { $gte: since } }, { projection: { endedAt: 1, recordedAt: 1 } })
    .toArray();
  const ended = new Map<string, number>();
  const rec = histogram();
  let recorded = 0;
  for (const c of calls) {
    if (c.endedAt) ended.set(String(c._id), (c.endedAt as Date).getTime());
    if (c.endedAt && c.recordedAt) {
      recorded++;
      rec.record((c.recordedAt as Date).getTime() - (c.endedAt as Date).getTime());
    }
  }
  const entries = await db.users
    .collection('changes')
    .find({ entity: 'call', at: { $gte: since } }, { projection: { id: 1, at: 1 } })
    .toArray();
  const sync = histogram();
  for (const e of entries) {
    const end = ended.get(String(e.id));
    if (end !== undefined) sync.record((e.at as Date).getTime() - end);
  }
  return {
    calls: calls.length,
    recorded,
    record: rec.summary(),
    sync: sync.summary(),
    syncEntries: entries.length,
  } satisfies HistoryLag;
}

interface Step extends StepResult {
  cpuMsByProcess: Record<string, number>;
  stackCpuMs: number;
  cpuMsPerCall: number;
  drainMs: number;
  backlogAtEnd: Record<string, number>;
  history: HistoryLag;
  held: boolean;
}

async function run(ctx: RunContext) {
  const PAIRS = knob('BENCH_CALL_PAIRS', 300, 20);
  const STEP_MS = knob('BENCH_CALL_STEP_MS', 10_000, 2000);
  const rates = knobList('BENCH_CALL_RATES', [25, 50, 100, 150, 200, 300, 400], [10, 20]);
  const pin = process.env.BENCH_CALL_PIN !== '0';
  // Children inherit the affinity: every process of the stack runs on the server core.
  if (pin) spawnSync('taskset', ['-acp', cores.server, String(process.pid)], { stdio: 'ignore' });
  const stateDir = mkdtempSync(join(tmpdir(), 'voip-bench-call-'));
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const stack = await startStack({
      stateDir,
      coturn: false,
      signalingInstances: 2,
      logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
      redisPersistence: 'none',
      serviceEnv: ROOMY,
    });
    stops.push(() => stack.stopAll());
    const realStateDir = realpathSync(stateDir);
    const url = stack.url.replace('localhost', '127.0.0.1');
    const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 3 });
    stops.push(async () => redis.disconnect());
    const conn = await mongoose.createConnection(stack.mongoUri).asPromise();
    stops.push(() => conn.close());
    // Every service of the stack keeps its collections in the one database of stack.mongoUri.
    const db = { calls: conn.db!, users: conn.db! };

    ctx.log(`stack up (${pin ? `pinned to core ${cores.server}` : 'unpinned'}); ${PAIRS * 2} guests`);
    const people = await makeGuests(url, PAIRS * 2);
    const pairs: PairSpec[] = [];
    for (let i = 0; i < PAIRS; i++) pairs.push({ caller: people[2 * i]!, callee: people[2 * i + 1]! });
    // The user service writes each callee's reach mirror from guest.created: wait for all of them.
    await waitUntil('reach mirrors', async () => {
      const pipe = redis.pipeline();
      for (const p of pairs) pipe.exists(keys.reach(p.callee.userId));
      return ((await pipe.exec()) ?? []).every(([, v]) => v === 1);
    });
    const gen = spawnWorker(
      'call-setup-gen',
      'scenarios/call-setup.gen.ts',
      {
        NODE_EXTRA_CA_CERTS: stack.tls.caFile,
      },
      pin ? cores.load : '0-1',
    );
    stops.push(() => gen.stop());
    await gen.call('connect', { url, pairs });
    ctx.log('sockets connected; warm-up');
    await gen.call('step', { rate: 20, durationMs: ctx.quick ? 1000 : 3000 });
    await drain(redis, 60_000);

    const measureStep = async (rate: number): Promise<Step> => {
      const since = new Date(Date.now() - 1000);
      const cpu0 = cpuByProcess(stack, realStateDir);
      const r = (await gen.call('step', { rate, durationMs: STEP_MS })) as StepResult;
      const cpuRun = diff(cpu0, cpuByProcess(stack, realStateDir));
      const t0 = performance.now();
      const backlogAtEnd = await groupLag(redis);
      const drained = await drain(redis, 120_000);
      const drainMs = Math.round(performance.now() - t0);
      const history = await historyLag(db, since);
      const stackCpuMs = Object.values(cpuRun).reduce((a, b) => a + b, 0);
      const held = r.failed === 0 && r.latency.setup.p99Ms < SETUP_P99_GOAL_MS && drained;
      return {
        ...r,
        cpuMsByProcess: cpuRun,
        stackCpuMs,
        cpuMsPerCall: r.completed ? Number((stackCpuMs / r.completed).toFixed(2)) : 0,
        drainMs,
        backlogAtEnd,
        history,
        held,
      };
    };

    const steps: Step[] = [];
    for (const rate of rates) {
      const s = await measureStep(rate);
      steps.push(s);
      ctx.log(
        `offered ${rate}/s: ${s.completedPerSecond}/s done, ${s.failed} failed ${JSON.stringify(s.failures)}, setup p50 ${s.latency.setup.p50Ms} p99 ${s.latency.setup.p99Ms} ms, ${s.cpuMsPerCall} CPU ms/call, backlog ${JSON.stringify(s.backlogAtEnd)} drained in ${s.drainMs} ms, record lag p50 ${s.history.record.p50Ms} p99 ${s.history.record.p99Ms} ms`,
      );
      // Far past saturation: the next steps would only queue.
      if (s.failed > s.sent * 0.2 || s.latency.setup.p99Ms > 5000) break;
    }
    const heldSteps = steps.filter((s) => s.held);
    const best = heldSteps.at(-1);
    // Repetitions of the highest rate held (its spread), after the ladder.
    const repeats: Step[] = [];
    if (best) for (let i = 1; i < ctx.reps; i++) repeats.push(await measureStep(best.offeredPerSecond));
    const bestRuns = best ? [best, ...repeats] : [];
    await gen.call('close');

    const processes = Object.keys(steps[0]?.cpuMsByProcess ?? {});
    // Where the time goes at the highest rate held, else at the highest with no failure, else the last.
    const ref = best ?? steps.filter((s) => s.failed === 0).at(-1) ?? steps.at(-1)!;
    const table = [
      '| offered /s | completed /s | failed | setup p50 ms | setup p99 ms | total p99 ms | CPU ms/call (stack) | backlog at end | drain s | record lag p50 / p99 ms | sync lag p50 / p99 ms | held |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: |',
      ...steps.map(
        (s) =>
          `| ${s.offeredPerSecond} | ${s.completedPerSecond} | ${s.failed}${
            s.failed
              ? ` (${Object.entries(s.failures)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join(', ')})`
              : ''
          } | ${s.latency.setup.p50Ms} | ${s.latency.setup.p99Ms} | ${s.latency.total.p99Ms} | ${s.cpuMsPerCall} | ${Object.values(s.backlogAtEnd).reduce((a, b) => a + b, 0)} | ${(s.drainMs / 1000).toFixed(1)} | ${s.history.record.p50Ms} / ${s.history.record.p99Ms} | ${s.history.sync.p50Ms} / ${s.history.sync.p99Ms} | ${s.held ? 'yes' : 'no'} |`,
      ),
    ].join('\n');
    const phases = [
      `| phase (at ${ref.offeredPerSecond}/s) | p50 ms | p99 ms |`,
      '| --- | ---: | ---: |',
      ...(['initiate', 'ring', 'accept', 'setup', 'ice', 'end'] as const).map(
        (p) => `| ${p} | ${ref.latency[p].p50Ms} | ${ref.latency[p].p99Ms} |`,
      ),
    ].join('\n');
    const cpuTable = [
      `| process | CPU ms per call (at ${ref.offeredPerSecond}/s) |`,
      '| --- | ---: |',
      ...processes
        .map((p) => [p, ref.completed ? (ref.cpuMsByProcess[p] ?? 0) / ref.completed : 0] as const)
        .sort((a, b) => b[1] - a[1])
        .map(([p, v]) => `| ${p} | ${v.toFixed(2)} |`),
    ].join('\n');
    const bestSpread = spread(bestRuns.map((s) => s.completedPerSecond));
    const p99Spread = spread(bestRuns.map((s) => s.latency.setup.p99Ms));
    const markdown = [
      `Complete calls through Nginx (${pin ? `stack pinned to core ${cores.server}, generator to core ${cores.load}` : 'stack and generator on both cores'}), ${PAIRS} caller/callee pairs of guests, open loop, ${STEP_MS / 1000} s per offered rate. Setup = intended start → \`call-accepted\` at the caller; record lag = call end → the final history record written (call service), sync lag = call end → the call entry in the sync feed (user service).`,
      '',
      table,
      '',
      best
        ? `Highest rate held (0 failures, setup p99 < ${SETUP_P99_GOAL_MS} ms, history drained): **${best.offeredPerSecond}/s** offered, ${bestSpread.median} completed/s over ${bestRuns.length} run(s) (${bestSpread.min}–${bestSpread.max}), setup p99 ${p99Spread.median} ms (${p99Spread.min}–${p99Spread.max}).`
        : 'No offered rate was held (0 failures, setup p99 < 100 ms).',
      '',
      phases,
      '',
      cpuTable,
    ].join('\n');
    const chart: ChartSpec = {
      title: 'call-setup: setup latency against offered load',
      xLabel: 'offered calls/s',
      yLabel: 'setup ms',
      series: [
        { name: 'p50', points: steps.map((s) => ({ x: s.offeredPerSecond, y: s.latency.setup.p50Ms })) },
        { name: 'p99', points: steps.map((s) => ({ x: s.offeredPerSecond, y: s.latency.setup.p99Ms })) },
      ],
    };
    return {
      config: {
        pairs: PAIRS,
        stepMs: STEP_MS,
        rates,
        pinned: pin,
        signalingInstances: 2,
        reps: bestRuns.length,
      },
      data: { steps, repeats, best: best?.offeredPerSecond ?? null },
      targets: [
        {
          name: `complete call setups/s held (0 failures, p99 < ${SETUP_P99_GOAL_MS} ms)`,
          target: `≥ ${TARGET_PER_SECOND}`,
          value: best ? `${bestSpread.median}/s` : 'none held',
          met: bestSpread.median >= TARGET_PER_SECOND,
        },
      ],
      markdown,
      charts: { 'call-setup-latency.png': chart },
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function drain(redis: Redis, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const lag = await groupLag(redis);
    if (Object.values(lag).every((v) => v === 0)) return true;
    if (Date.now() > until) return false;
    await sleep(100);
  }
}

async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export default defineScenario('call-setup', 'complete call setups/s through the whole stack, open loop', run);
