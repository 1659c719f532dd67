// `pnpm bench call`: does a dead push endpoint slow down POST /api/calls? Three call services in one
// run, same machine, same Redis and MongoDB-compatible server, each waking an offline callee through the
// FCM provider: one against a healthy FCM stand-in, one against a stand-in that accepts and never
// answers, one against a closed port. Initiations alternate between them in rounds; the report gives
// p50/p99 latency and the ratios to the healthy case. Writes bench/results/call.json and call.md.
// Knobs: BENCH_CALLS (per round and service, 200), BENCH_ROUNDS (3), BENCH_CONCURRENCY (4).
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { keys } from '@voip/contracts/redis-keys';
import { createTokenSigner } from '@voip/kit/jwt';
import { freePort, type RunningServer, startMongo, startRedis } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';

// The built service (the bench script builds it first); typed from src so a type-check needs no build.
const { buildApp } = (await import(
  new URL('../dist/app.js', import.meta.url).href
)) as typeof import('../src/app.js');
const { parseCallConfig } = (await import(
  new URL('../dist/config.js', import.meta.url).href
)) as typeof import('../src/config.js');

const CALLS = Number(process.env.BENCH_CALLS ?? 200);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const INTERNAL_TOKEN = `bench-internal-${ulid()}-${ulid()}`;
const resultsDir = fileURLToPath(new URL('../../../bench/results/', import.meta.url));

// `hanging-open`: the hanging endpoint with the circuit breaker kept closed (threshold 1000), so every
// call really starts a push that hangs: what is measured is the request not waiting for it, not the breaker.
type Scenario = 'healthy' | 'hanging' | 'hanging-open' | 'refused';

function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/** The user service's internal routes: everyone exists, nobody blocks, every callee has one phone. */
function userServiceStandIn() {
  return listen((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = req.url ?? '';
      if (url.includes('/reachability'))
        return json(res, 200, {
          exists: true,
          kind: 'user',
          displayName: 'Bench',
          blocked: false,
          doNotDisturb: false,
        });
      if (url.includes('/devices'))
        return json(res, 200, {
          devices: [{ deviceId: 'phone', platform: 'android', pushToken: `tok-${ulid()}` }],
        });
      if (url.includes('/push-tokens/invalidate')) return json(res, 200, { removed: 0 });
      json(res, 404, {});
    });
  });
}

/** Google's token endpoint and FCM messages:send: answering at once, or holding every send forever. */
function fcmStandIn(mode: 'healthy' | 'hanging') {
  const held: ServerResponse[] = [];
  return listen((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.url === '/token')
        return json(res, 200, { access_token: 'ya29.bench', expires_in: 3600, token_type: 'Bearer' });
      if (mode === 'hanging') {
        held.push(res);
        return;
      }
      json(res, 200, { name: `projects/bench/messages/${ulid()}` });
    });
  }).then((s) => ({ ...s, held }));
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
const round2 = (n: number) => Math.round(n * 100) / 100;

async function main() {
  const started: RunningServer[] = [];
  const closers: Array<() => Promise<unknown> | unknown> = [];
  try {
    const [redis, mongo] = await Promise.all([startRedis(), startMongo()]);
    started.push(redis, mongo);
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signer = createTokenSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const { privateKey: rsa } = generateKeyPairSync('rsa', { modulusLength: 2048 });

    const users = await userServiceStandIn();
    closers.push(() => users.server.close());
    const healthyFcm = await fcmStandIn('healthy');
    const hangingFcm = await fcmStandIn('hanging');
    closers.push(
      () => {
        for (const r of hangingFcm.held) r.destroy();
        hangingFcm.server.closeAllConnections();
        hangingFcm.server.close();
      },
      () => {
        healthyFcm.server.closeAllConnections();
        healthyFcm.server.close();
      },
    );
    const refusedUrl = `http://127.0.0.1:${await freePort()}`;
    const fcmUrl: Record<Scenario, string> = {
      healthy: healthyFcm.url,
      hanging: hangingFcm.url,
      'hanging-open': hangingFcm.url,
      refused: refusedUrl,
    };

    const scenarios: Scenario[] = ['healthy', 'hanging', 'hanging-open', 'refused'];
    const services = new Map<Scenario, { url: string; redis: Redis; close: () => Promise<void> }>();
    for (const [i, name] of scenarios.entries()) {
      // Each service on its own Redis database: the history consumer group must not share the stream.
      const redisUrl = `${redis.url}/${i + 1}`;
      const account = {
        type: 'service_account',
        client_email: 'bench@bench.iam.gserviceaccount.com',
        private_key: rsa.export({ type: 'pkcs8', format: 'pem' }).toString(),
        token_uri: `${fcmUrl[name]}/token`,
      };
      const app = await buildApp(
        parseCallConfig({
          HOST: '127.0.0.1',
          LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
          REDIS_URL: redisUrl,
          MONGODB_URI: `${mongo.url}/bench_call_${name}_${Date.now()}`,
          JWT_PUBLIC_KEY: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
          INTERNAL_TOKEN,
          INSTANCE_ID: `bench-${name}`,
          USER_SERVICE_URL: users.url,
          CALL_RATE_LIMIT: '100000000',
          PUSH_PROVIDER: 'fcm',
          FCM_PROJECT_ID: 'bench',
          FCM_SERVICE_ACCOUNT_JSON: JSON.stringify(account),
          FCM_BASE_URL: fcmUrl[name],
          ...(name === 'hanging-open' ? { PUSH_BREAKER_THRESHOLD: '1000' } : {}),
        }),
      );
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const client = new Redis(redisUrl);
      services.set(name, { url, redis: client, close: () => app.close() });
      closers.unshift(async () => {
        await client.quit();
        await app.close();
      });
    }

    /** One caller per call (fresh ids, so nobody is ever busy), signed in on that service's Redis. */
    async function callers(svc: { redis: Redis }, n: number) {
      const pipe = svc.redis.pipeline();
      const out: Array<{ authorization: string; calleeId: string }> = [];
      for (let i = 0; i < n; i++) {
        const [id, sid] = [ulid(), ulid()];
        pipe.hset(keys.session(sid), { userId: id, kind: 'user', displayName: 'Bench caller' });
        out.push({
          authorization: `Bearer ${signer.sign({ sub: id, kind: 'user', sid, name: 'Bench caller' }, 3600)}`,
          calleeId: ulid(),
        });
      }
      await pipe.exec();
      return out;
    }

    async function run(name: Scenario, n: number): Promise<number[]> {
      const svc = services.get(name)!;
      const work = await callers(svc, n);
      const latencies: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < work.length) {
            const w = work[next++]!;
            const t0 = performance.now();
            const res = await fetch(`${svc.url}/api/calls`, {
              method: 'POST',
              headers: { authorization: w.authorization, 'content-type': 'application/json' },
              body: JSON.stringify({ calleeId: w.calleeId, media: 'audio' }),
            });
            await res.arrayBuffer();
            latencies.push(performance.now() - t0);
            if (res.status !== 201) throw new Error(`${name}: POST /api/calls answered ${res.status}`);
          }
        }),
      );
      return latencies;
    }

    process.stdout.write(`[bench] warming up…\n`);
    for (const s of scenarios) await run(s, 30);
    const samples: Record<Scenario, number[]> = { healthy: [], hanging: [], 'hanging-open': [], refused: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const s of scenarios) {
        const l = await run(s, CALLS);
        samples[s].push(...l);
        const sorted = [...l].sort((a, b) => a - b);
        process.stdout.write(
          `[bench] round ${r + 1}/${ROUNDS} ${s.padEnd(8)} p50 ${round2(percentile(sorted, 50))} ms  p99 ${round2(percentile(sorted, 99))} ms\n`,
        );
      }
    }

    const metricsOf = async (s: Scenario) => {
      const text = await (await fetch(`${services.get(s)!.url}/metrics`)).text();
      const sends: Record<string, number> = {};
      for (const m of text.matchAll(/^call_push_sends_total\{[^}]*result="([^"]+)"[^}]*\} (\d+)/gm))
        sends[m[1]!] = Number(m[2]);
      const breaker = Number(/^call_push_breaker_state(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
      return { pushSends: sends, breakerState: ['closed', 'half-open', 'open'][breaker] };
    };
    const summary = Object.fromEntries(
      await Promise.all(
        scenarios.map(async (s) => {
          const sorted = [...samples[s]].sort((a, b) => a - b);
          return [
            s,
            {
              calls: sorted.length,
              p50Ms: round2(percentile(sorted, 50)),
              p90Ms: round2(percentile(sorted, 90)),
              p99Ms: round2(percentile(sorted, 99)),
              maxMs: round2(sorted.at(-1) ?? 0),
              ...(await metricsOf(s)),
            },
          ] as const;
        }),
      ),
    ) as Record<
      Scenario,
      {
        calls: number;
        p50Ms: number;
        p90Ms: number;
        p99Ms: number;
        maxMs: number;
        pushSends: Record<string, number>;
        breakerState?: string;
      }
    >;
    const ratio = (s: Scenario, k: 'p50Ms' | 'p99Ms') => round2(summary[s][k] / summary.healthy[k]);
    const result = {
      benchmark: 'call',
      at: new Date().toISOString(),
      what: 'POST /api/calls latency for an offline callee (a wake-up push is started for every call) with a healthy, a hanging (breaker on, and kept closed) and a refusing push endpoint',
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', node: process.version },
      params: {
        callsPerRoundAndScenario: CALLS,
        rounds: ROUNDS,
        concurrency: CONCURRENCY,
        store: mongo.url.includes('mongo') ? 'MongoDB wire protocol (testkit)' : 'unknown',
      },
      scenarios: summary,
      ratios: {
        hangingVsHealthyP50: ratio('hanging', 'p50Ms'),
        hangingVsHealthyP99: ratio('hanging', 'p99Ms'),
        hangingBreakerOffVsHealthyP50: ratio('hanging-open', 'p50Ms'),
        hangingBreakerOffVsHealthyP99: ratio('hanging-open', 'p99Ms'),
        refusedVsHealthyP50: ratio('refused', 'p50Ms'),
        refusedVsHealthyP99: ratio('refused', 'p99Ms'),
      },
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(`${resultsDir}call.json`, `${JSON.stringify(result, null, 2)}\n`);
    const row = (s: Scenario, label: string) => {
      const x = summary[s];
      const sends =
        Object.entries(x.pushSends)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none';
      return `| ${label} | ${x.calls} | ${x.p50Ms} | ${x.p90Ms} | ${x.p99Ms} | ${x.maxMs} | ${sends} | ${x.breakerState} |`;
    };
    const md = `# call benchmark: a dead push endpoint does not delay POST /api/calls

${result.at} · ${result.machine.cpus}× ${result.machine.cpu} · Node ${result.machine.node} · ${ROUNDS} alternating rounds of ${CALLS} calls per endpoint, ${CONCURRENCY} concurrent

Every call goes to an offline callee with one registered phone, so each one starts a wake-up push
(FCM provider). The four services differ only in their push endpoint (and one in its breaker).

| push endpoint | calls | p50 ms | p90 ms | p99 ms | max ms | push sends (by result) | breaker at the end |
| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |
${row('healthy', 'healthy stand-in')}
${row('hanging', 'hangs (accepts, never answers)')}
${row('hanging-open', 'hangs, breaker kept closed (every call pushes)')}
${row('refused', 'refused (closed port)')}

Latency ratio to the healthy endpoint: hanging **${result.ratios.hangingVsHealthyP50}** at p50, **${result.ratios.hangingVsHealthyP99}** at p99;
hanging with the breaker kept closed **${result.ratios.hangingBreakerOffVsHealthyP50}** at p50, **${result.ratios.hangingBreakerOffVsHealthyP99}** at p99;
refused **${result.ratios.refusedVsHealthyP50}** at p50, **${result.ratios.refusedVsHealthyP99}** at p99 (1.0 = no effect).
The push runs beside the request: compare the p50 ratios (the median call) for the cost of a dead endpoint
to the caller. The tail (p99) on this shared machine moves run to run; the refused endpoint, whose breaker
stops all pushes after a few sends, shows how much of it is noise.
`;
    writeFileSync(`${resultsDir}call.md`, md);
    process.stdout.write(`\n${md}\n`);
  } finally {
    for (const close of closers) await Promise.resolve(close()).catch(() => undefined);
    await Promise.all(started.map((s) => s.stop()));
  }
}

await main();
