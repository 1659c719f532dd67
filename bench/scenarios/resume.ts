// resume: during a call the callee's network goes silent (Toxiproxy drops every byte, no FIN) and the
// callee reconnects to another instance with its resume token while the caller streams numbered ICE
// candidates at 50/s: time from the reconnect to the caller's `peer-reconnected`, and candidates lost,
// duplicated or reordered at the callee. Baseline: bare Socket.io, where the callee reconnects as the
// same user and device into the same rooms (Socket.io has no resume: what is sent meanwhile is gone).
import { createCallStore } from '@voip/call-state/call-store';
import { createAudioCall } from '../lib/device.ts';
import { spread } from '../lib/hdr.ts';
import { spawnWorker } from '../lib/proc.ts';
import { defineScenario, knob, type RunContext, stopInOrder } from '../lib/scenario.ts';
import { benchRedis, principals, startBaseline, startSignaling } from '../lib/stack.ts';
import { startToxiproxy } from '../lib/toxiproxy.ts';
import type { ResumeArgs } from './resume.gen.ts';

type Out = {
  sent: number;
  refused: number;
  refusedCodes: string[];
  resumed: boolean;
  timeToPeerReconnectedMs: number | null;
  peerEvents: { event: string; atMs: number }[];
  sdk: { lost: number; duplicated: number; reordered: number; received: number };
  wire: { lost: number; duplicated: number; reordered: number; received: number };
};

async function run(ctx: RunContext) {
  const RATE = knob('BENCH_RESUME_RATE', 50);
  const TOTAL = knob('BENCH_RESUME_MS', 8000, 1500);
  const DROP = knob('BENCH_RESUME_DROP_AT_MS', 2000, 400);
  const DETECT = knob('BENCH_RESUME_DETECT_MS', 1000, 200);
  const redis = await benchRedis();
  const toxi = await startToxiproxy();
  const A = await startSignaling(redis.url, 'A');
  const B = await startSignaling(redis.url, 'B');
  const b1 = await startBaseline('bare.ts', 'bare-1', { REDIS_URL: redis.url });
  const b2 = await startBaseline('bare.ts', 'bare-2', { REDIS_URL: redis.url });
  const gen = spawnWorker('resume-gen', 'scenarios/resume.gen.ts');
  const store = createCallStore(redis.client, { producerSource: 'bench', ringTimeoutMs: 600_000 });
  const runs: Record<string, Out[]> = { ours: [], bare: [] };
  try {
    for (let r = 0; r < ctx.reps; r++)
      for (const kind of r % 2 === 0 ? (['ours', 'bare'] as const) : (['bare', 'ours'] as const)) {
        const [x, y] = (await principals(redis.client, 2)) as [
          Awaited<ReturnType<typeof principals>>[0],
          Awaited<ReturnType<typeof principals>>[0],
        ];
        const name = `callee-${kind}-${r}`;
        const [first, second, other] = kind === 'ours' ? [B, A, A] : [b2, b1, b1];
        const proxyUrl = await toxi.proxy(name, first.port);
        let callId = 'bare-call';
        if (kind === 'ours') {
          callId = await createAudioCall(store, x.userId, y.userId);
        }
        const auth = (p: typeof x) =>
          kind === 'ours'
            ? { token: p.token, clientId: p.clientId, lastSeq: 0 }
            : { userId: p.userId, clientId: p.clientId };
        const args: ResumeArgs = {
          kind,
          callId,
          caller: { url: other.url, auth: auth(x) },
          callee: { proxyUrl, resumeUrl: second.url, auth: auth(y), userId: y.userId, clientId: y.clientId },
          toxiproxy: { api: toxi.api, proxy: name },
          rate: RATE,
          totalMs: TOTAL,
          dropAtMs: DROP,
          detectMs: DETECT,
        };
        const out = (await gen.call('run', args)) as Out;
        runs[kind]!.push(out);
        await toxi.remove(name);
        ctx.log(
          `rep ${r + 1} ${kind}: sent ${out.sent}, SDK lost ${out.sdk.lost} dup ${out.sdk.duplicated} reordered ${out.sdk.reordered}; peer-reconnected after ${out.timeToPeerReconnectedMs} ms`,
        );
      }
  } finally {
    await stopInOrder(gen, A, B, b1, b2, toxi, redis);
  }
  const f = (kind: string, get: (o: Out) => number | null) => {
    const xs = runs[kind]!.map(get).filter((v): v is number => v !== null);
    return xs.length ? spread(xs) : null;
  };
  const fmt = (s: { median: number; min: number; max: number } | null) =>
    s ? `${s.median} (${s.min}–${s.max})` : '–';
  const rows: [string, (o: Out) => number | null][] = [
    ['candidates sent', (o) => o.sent],
    ['lost (as the SDK sees them)', (o) => o.sdk.lost],
    ['duplicated (SDK)', (o) => o.sdk.duplicated],
    ['reordered (SDK)', (o) => o.sdk.reordered],
    ['duplicated on the wire (dropped by the SDK by seq)', (o) => o.wire.duplicated],
    ['refused acks', (o) => o.refused],
    ['reconnect → peer-reconnected at the caller, ms', (o) => o.timeToPeerReconnectedMs],
  ];
  const lostTotal = runs.ours!.reduce((s, o) => s + o.sdk.lost, 0);
  const ttr = f('ours', (o) => o.timeToPeerReconnectedMs);
  const markdown = [
    `Caller on one instance streams ICE candidates at ${RATE}/s for ${TOTAL / 1000} s (open loop, each with an ack); the callee, connected to a second instance through Toxiproxy, goes silent at ${DROP / 1000} s (a \`timeout\` toxic with timeout 0 both ways: no byte, no FIN) and ${DETECT} ms later connects to the caller's instance (ours: same clientId, its resume token and lastSeq; bare: same user and device rooms). ${ctx.reps} repetitions, arms alternating; medians with (min–max).`,
    '',
    '| per run | ours (resume) | bare Socket.io (reconnect) |',
    '| --- | ---: | ---: |',
    ...rows.map(
      ([label, get]) =>
        `| ${label} | ${fmt(f('ours', get))} | ${label.startsWith('reconnect') ? 'n/a' : fmt(f('bare', get))} |`,
    ),
  ].join('\n');
  return {
    config: { rate: RATE, totalMs: TOTAL, dropAtMs: DROP, detectMs: DETECT, reps: ctx.reps },
    data: { runs },
    targets: [
      {
        name: 'candidates lost on resume (all runs)',
        target: '0',
        value: String(lostTotal),
        met: lostTotal === 0,
      },
      {
        name: 'peer-reconnected reached the caller',
        target: 'every run',
        value: `${runs.ours!.filter((o) => o.timeToPeerReconnectedMs !== null).length}/${runs.ours!.length} (p50 ${ttr?.median ?? '–'} ms)`,
        met: runs.ours!.every((o) => o.timeToPeerReconnectedMs !== null),
      },
    ],
    markdown,
  };
}

export default defineScenario('resume', 'silent network drop, resume on another instance', run);
