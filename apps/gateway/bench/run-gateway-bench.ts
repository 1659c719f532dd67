// `pnpm bench gateway`: requests/s and p50/p99 latency of an authenticated GET sent through the
// gateway vs straight to the same upstream service, measured in one run on the same machine
// (alternating rounds, so drift hits both sides), written to bench/results/gateway.{json,md}.
// Everything is a real process: redis-server, the upstream service, the built gateway.
// Besides throughput and latency, each round records the CPU time every process (gateway, upstream,
// Redis) spent per request, read from /proc: on a shared, noisy machine that is the steadier measure
// of what the gateway itself costs, and it shows the upstream doing the same work in both arms.
// Knobs: BENCH_DURATION_S (per round, 5), BENCH_ROUNDS (3), BENCH_CONNECTIONS (50), BENCH_LOG_LEVEL (info),
// BENCH_CPU_PROFILE=<dir> (write a V8 CPU profile of the gateway there), BENCH_GATEWAY_SERVER (the
// gateway entry to run, dist/server.js; point it at another build to compare two versions).
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keys } from '@voip/contracts/redis-keys';
import { createTokenSigner } from '@voip/kit/jwt';
import { freePort, startRedis } from '@voip/testkit/servers';
import autocannon from 'autocannon';
import { Redis } from 'ioredis';

const here = dirname(fileURLToPath(import.meta.url));
const gatewayDir = resolve(here, '..');
const resultsDir = resolve(gatewayDir, '..', '..', 'bench', 'results');
const num = (name: string, fallback: number) => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const durationS = num('BENCH_DURATION_S', 5);
const rounds = num('BENCH_ROUNDS', 3);
const connections = num('BENCH_CONNECTIONS', 50);
const logLevel = process.env.BENCH_LOG_LEVEL ?? 'info';
const INTERNAL_TOKEN = randomUUID() + randomUUID();

const children: ChildProcess[] = [];
function launch(name: string, args: string[], env: Record<string, string>): ChildProcess {
  // Logs are written (as in production) but thrown away, so a slow terminal is not measured.
  const child = spawn(process.execPath, args, {
    cwd: gatewayDir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  child.on('exit', (code) => {
    if (code) process.stderr.write(`[bench] ${name} exited ${code}: ${stderr}\n`);
  });
  children.push(child);
  return child;
}

async function waitReady(url: string, child: ChildProcess) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`${url}: process exited`);
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready`);
}

type Process = 'gateway' | 'upstream' | 'redis';
const pids: Partial<Record<Process, number>> = {};

/** CPU time (user + system, ms) a process has used so far; null where /proc is not there. */
function cpuMs(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticksPerSecond = 100;
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
  } catch {
    return null;
  }
}

interface Measure {
  requestsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyAvgMs: number;
  requests: number;
  non2xx: number;
  errors: number;
  /** CPU ms each process spent per request of this round. */
  cpuMsPerRequest: Record<Process, number | null>;
}

async function measure(url: string, authorization: string, seconds: number): Promise<Measure> {
  const names: Process[] = ['gateway', 'upstream', 'redis'];
  const before = names.map((n) => cpuMs(pids[n]));
  const r = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    headers: { authorization },
  });
  const after = names.map((n) => cpuMs(pids[n]));
  const perRequest = (i: number) => {
    const [b, a] = [before[i], after[i]];
    return b === null || a === null || b === undefined || a === undefined || r.requests.total === 0
      ? null
      : Math.round(((a - b) / r.requests.total) * 1000) / 1000;
  };
  return {
    requestsPerSec: r.requests.average,
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    latencyAvgMs: r.latency.average,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    cpuMsPerRequest: { gateway: perRequest(0), upstream: perRequest(1), redis: perRequest(2) },
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const cpuMedian = (ms: Measure[], p: Process) => {
  const xs = ms.map((m) => m.cpuMsPerRequest[p]).filter((x): x is number => x !== null);
  return xs.length ? median(xs) : null;
};
const summarize = (ms: Measure[]) => ({
  requestsPerSec: Math.round(median(ms.map((m) => m.requestsPerSec))),
  latencyP50Ms: median(ms.map((m) => m.latencyP50Ms)),
  latencyP99Ms: median(ms.map((m) => m.latencyP99Ms)),
  non2xx: ms.reduce((a, m) => a + m.non2xx, 0),
  errors: ms.reduce((a, m) => a + m.errors, 0),
  cpuMsPerRequest: {
    gateway: cpuMedian(ms, 'gateway'),
    upstream: cpuMedian(ms, 'upstream'),
    redis: cpuMedian(ms, 'redis'),
  },
});
const fmtCpu = (x: number | null) => (x === null ? 'n/a' : x.toFixed(3));

async function main() {
  const redis = await startRedis();
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const signer = createTokenSigner(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const userId = randomUUID().replaceAll('-', '');
    const sessionId = randomUUID().replaceAll('-', '');
    const client = new Redis(redis.url);
    await client.hset(keys.session(sessionId), { userId, kind: 'user', displayName: 'Bench User' });
    await client.quit();
    const authorization = `Bearer ${signer.sign({ sub: userId, kind: 'user', sid: sessionId }, 3600)}`;

    const common = {
      HOST: '127.0.0.1',
      REDIS_URL: redis.url,
      JWT_PUBLIC_KEY: publicPem,
      INTERNAL_TOKEN,
      LOG_LEVEL: logLevel,
    };
    const [upstreamPort, gatewayPort] = [await freePort(), await freePort()];
    const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
    const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const upstream = launch('upstream', ['bench/echo-service.ts'], { ...common, PORT: String(upstreamPort) });
    const profile = process.env.BENCH_CPU_PROFILE
      ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_CPU_PROFILE)}`]
      : [];
    const gatewayServer = process.env.BENCH_GATEWAY_SERVER ?? 'dist/server.js';
    const gateway = launch('gateway', [...profile, gatewayServer], {
      ...common,
      PORT: String(gatewayPort),
      AUTH_UPSTREAMS: upstreamUrl,
      USER_UPSTREAMS: upstreamUrl,
      CALL_UPSTREAMS: upstreamUrl,
      RATE_LIMIT_USER_MAX: '1000000000',
    });
    await Promise.all([waitReady(upstreamUrl, upstream), waitReady(gatewayUrl, gateway)]);
    Object.assign(pids, { gateway: gateway.pid, upstream: upstream.pid, redis: redis.pid });

    const targets = { direct: `${upstreamUrl}/api/users/me`, gateway: `${gatewayUrl}/api/users/me` };
    for (const [name, url] of Object.entries(targets)) {
      const res = await fetch(url, { headers: { authorization } });
      if (res.status !== 200)
        throw new Error(`${name}: GET /api/users/me answered ${res.status} ${await res.text()}`);
    }
    process.stdout.write(`[bench] warming up (${connections} connections)…\n`);
    await measure(targets.direct, authorization, 2);
    await measure(targets.gateway, authorization, 2);

    const runs: Record<'direct' | 'gateway', Measure[]> = { direct: [], gateway: [] };
    for (let i = 0; i < rounds; i++) {
      for (const name of ['direct', 'gateway'] as const) {
        const m = await measure(targets[name], authorization, durationS);
        runs[name].push(m);
        const cpu = m.cpuMsPerRequest;
        process.stdout.write(
          `[bench] round ${i + 1}/${rounds} ${name.padEnd(7)} ${Math.round(m.requestsPerSec)} req/s  p50 ${m.latencyP50Ms} ms  p99 ${m.latencyP99Ms} ms  cpu/req gw ${fmtCpu(cpu.gateway)} up ${fmtCpu(cpu.upstream)} redis ${fmtCpu(cpu.redis)} ms\n`,
        );
      }
    }
    const direct = summarize(runs.direct);
    const viaGateway = summarize(runs.gateway);
    const ratio = viaGateway.requestsPerSec / direct.requestsPerSec;
    const result = {
      benchmark: 'gateway',
      at: new Date().toISOString(),
      what: 'GET /api/users/me with a bearer token: the gateway (edge token + session check, rate limit, proxy) vs the upstream service directly (its own token + session check)',
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        node: process.version,
      },
      params: {
        connections,
        pipelining: 1,
        durationSeconds: durationS,
        rounds,
        logLevel,
        aggregate: 'median of rounds',
      },
      direct,
      gateway: viaGateway,
      throughputRatio: Math.round(ratio * 1000) / 1000,
      addedLatencyP50Ms: viaGateway.latencyP50Ms - direct.latencyP50Ms,
      addedLatencyP99Ms: viaGateway.latencyP99Ms - direct.latencyP99Ms,
      gatewayCpuMsPerRequest: viaGateway.cpuMsPerRequest.gateway,
      rounds: runs,
    };
    mkdirSync(resultsDir, { recursive: true });
    writeFileSync(join(resultsDir, 'gateway.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = `# Gateway benchmark

${result.at} · ${result.machine.cpus}× ${result.machine.cpu} · Node ${result.machine.node} · ${connections} connections, ${rounds} alternating rounds of ${durationS} s, median · log level ${logLevel}

Authenticated \`GET /api/users/me\`, through the gateway vs straight to the same upstream service.

| target | requests/s | p50 (ms) | p99 (ms) | non-2xx | errors |
| --- | ---: | ---: | ---: | ---: | ---: |
| direct to the service | ${direct.requestsPerSec} | ${direct.latencyP50Ms} | ${direct.latencyP99Ms} | ${direct.non2xx} | ${direct.errors} |
| through the gateway | ${viaGateway.requestsPerSec} | ${viaGateway.latencyP50Ms} | ${viaGateway.latencyP99Ms} | ${viaGateway.non2xx} | ${viaGateway.errors} |

Throughput through the gateway is **${(ratio * 100).toFixed(0)} %** of direct (ratio ${result.throughputRatio}); it adds ${result.addedLatencyP50Ms} ms at p50 and ${result.addedLatencyP99Ms} ms at p99.

CPU time per request (ms, user + system, median of rounds; the machine has ${result.machine.cpus} cores shared by all of these and autocannon):

| target | gateway | upstream | redis |
| --- | ---: | ---: | ---: |
| direct to the service | ${fmtCpu(direct.cpuMsPerRequest.gateway)} | ${fmtCpu(direct.cpuMsPerRequest.upstream)} | ${fmtCpu(direct.cpuMsPerRequest.redis)} |
| through the gateway | ${fmtCpu(viaGateway.cpuMsPerRequest.gateway)} | ${fmtCpu(viaGateway.cpuMsPerRequest.upstream)} | ${fmtCpu(viaGateway.cpuMsPerRequest.redis)} |
`;
    writeFileSync(join(resultsDir, 'gateway.md'), md);
    process.stdout.write(`\n${md}\n[bench] written to ${resultsDir}/gateway.{json,md}\n`);
    if (direct.non2xx + viaGateway.non2xx + direct.errors + viaGateway.errors > 0) {
      process.stderr.write('[bench] some requests failed: the numbers above are not trustworthy\n');
      process.exitCode = 1;
    }
  } finally {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((r) => {
            if (c.exitCode !== null || c.signalCode !== null) return r();
            c.once('exit', () => r());
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    await redis.stop();
  }
}

await main();
