// `pnpm bench relay`: our relay (validation, rate limit, membership + routing in one Redis script,
// delivery through the sharded adapter) side by side with a bare Socket.io relay (`io.to(id).emit`, same
// adapter, no checks), in one run, same topology: caller on one instance, callee on another, one Redis.
// Measures ICE round trips (caller → callee → caller); writes bench/results/relay.json and relay.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createShardedAdapter } from '@socket.io/redis-adapter';
import { createCallStore } from '@voip/call-state/call-store';
import { keys } from '@voip/contracts/redis-keys';
import { createTokenSigner } from '@voip/kit/jwt';
import { parseConfig } from '@voip/kit/config';
import { type RunningServer, startRedis } from '@voip/testkit/servers';
import { serviceEnv, testKeys } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connectClient, type Socket } from 'socket.io-client';
import { ulid } from 'ulid';
import { buildApp } from '../dist/app.js';
import { configSpec } from '../dist/config.js';

const PAIRS = Number(process.env.BENCH_PAIRS ?? 16);
const ROUND_TRIPS = Number(process.env.BENCH_ROUND_TRIPS ?? 10000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

type Pair = { send(i: number): void; onEcho(fn: (i: number) => void): void; close(): void };

const candidate = (i: number) => ({
  candidate: `candidate:${i} 1 udp 2122260223 192.0.2.1 ${10000 + (i % 50000)} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

function client(url: string, auth?: Record<string, string>): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connectClient(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...(auth ? { auth } : {}),
    });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

/** Runs `total` round trips over the pairs, all pairs in parallel; returns elapsed ms and per-trip latencies. */
async function measure(pairs: Pair[], total: number): Promise<{ elapsedMs: number; latencies: number[] }> {
  const perPair = Math.ceil(total / pairs.length);
  const latencies: number[] = [];
  const started = performance.now();
  await Promise.all(
    pairs.map(
      (p) =>
        new Promise<void>((resolve) => {
          let i = 0;
          let sentAt = 0;
          p.onEcho(() => {
            latencies.push(performance.now() - sentAt);
            if (++i >= perPair) return resolve();
            sentAt = performance.now();
            p.send(i);
          });
          sentAt = performance.now();
          p.send(0);
        }),
    ),
  );
  return { elapsedMs: performance.now() - started, latencies };
}

const pct = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
};

async function setUpOurs(redisUrl: string) {
  const env = {
    REDIS_URL: redisUrl,
    LOG_LEVEL: 'silent',
    EVENTS_PER_SECOND: '100000',
    EVENT_BURST: '100000',
    MAX_WAITING_EVENTS: '100000',
    CONNECTIONS_PER_IP: '100000',
  };
  const apps = [
    await buildApp(parseConfig(configSpec, serviceEnv(env))),
    await buildApp(parseConfig(configSpec, serviceEnv(env))),
  ];
  const urls: string[] = [];
  for (const app of apps) {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const addr = app.server.address();
    urls.push(`http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`);
  }
  const redis = new Redis(redisUrl);
  const store = createCallStore(redis, { producerSource: 'bench' });
  const signer = createTokenSigner(testKeys().privateKey);
  const principal = async () => {
    const userId = ulid();
    const sid = ulid();
    await redis.hset(keys.session(sid), { userId, kind: 'user' });
    return { userId, token: signer.sign({ sub: userId, kind: 'user', sid }, 3600) };
  };
  const ack = (s: Socket, ev: string, p: unknown) => s.timeout(10_000).emitWithAck(ev, p);

  const pairs: Pair[] = [];
  const sockets: Socket[] = [];
  for (let n = 0; n < PAIRS; n++) {
    const [x, y] = [await principal(), await principal()];
    const cx = await client(urls[0]!, { token: x.token, clientId: ulid() });
    const cy = await client(urls[1]!, { token: y.token, clientId: ulid() });
    sockets.push(cx, cy);
    const res = await store.create({
      callerId: x.userId,
      callerKind: 'user',
      callerName: 'x',
      calleeId: y.userId,
      media: 'audio',
    });
    if (!res.ok) throw new Error(`create failed: ${res.code}`);
    const callId = res.call.callId;
    const accepted = new Promise((r) => cx.once('call-accepted', r));
    await ack(cx, 'call-user', { callId, offer: { type: 'offer', sdp: 'v=0' } });
    await ack(cy, 'accept-call', { callId, answer: { type: 'answer', sdp: 'v=0' } });
    await accepted;
    // The callee echoes every candidate back: one round trip = two relayed messages.
    cy.on('ice-candidate', (p: { candidate: unknown }) =>
      cy.emit('ice-candidate', { callId, candidate: p.candidate }, () => {}),
    );
    let echo: (i: number) => void = () => {};
    cx.on('ice-candidate', () => echo(0));
    pairs.push({
      send: (i) => cx.emit('ice-candidate', { callId, candidate: candidate(i) }, () => {}),
      onEcho: (fn) => {
        echo = fn;
      },
      close: () => {
        cx.close();
        cy.close();
      },
    });
  }
  return {
    pairs,
    async close() {
      for (const p of pairs) p.close();
      await Promise.all(apps.map((a) => a.close()));
      await redis.quit();
    },
  };
}

async function setUpBare(redisUrl: string) {
  const servers: { io: Server; close(): Promise<void>; url: string }[] = [];
  for (let n = 0; n < 2; n++) {
    const pub = new Redis(redisUrl);
    const sub = pub.duplicate();
    const http = createServer();
    const io = new Server(http, { perMessageDeflate: false, adapter: createShardedAdapter(pub, sub) });
    io.on('connection', (socket) => {
      socket.on('relay', (msg: { to: string; data: unknown }, ack?: (r: unknown) => void) => {
        io.to(msg.to).emit('relay', msg.data);
        ack?.({ ok: true });
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const addr = http.address();
    servers.push({
      io,
      url: `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`,
      close: async () => {
        await new Promise<void>((r) => io.close(() => r()));
        await Promise.all([pub.quit(), sub.quit()]);
      },
    });
  }
  const pairs: Pair[] = [];
  for (let n = 0; n < PAIRS; n++) {
    const cx = await client(servers[0]!.url);
    const cy = await client(servers[1]!.url);
    cy.on('relay', (data: unknown) => cy.emit('relay', { to: cx.id, data }, () => {}));
    let echo: (i: number) => void = () => {};
    cx.on('relay', () => echo(0));
    pairs.push({
      send: (i) => cx.emit('relay', { to: cy.id, data: { callId: 'c', candidate: candidate(i) } }, () => {}),
      onEcho: (fn) => {
        echo = fn;
      },
      close: () => {
        cx.close();
        cy.close();
      },
    });
  }
  await new Promise((r) => setTimeout(r, 200)); // let the adapter subscriptions settle
  return {
    pairs,
    async close() {
      for (const p of pairs) p.close();
      for (const s of servers) await s.close();
    },
  };
}

async function main() {
  let redisServer: RunningServer | null = null;
  let redisUrl = process.env.REDIS_URL;
  if (!redisUrl) {
    redisServer = await startRedis();
    redisUrl = redisServer.url;
  }
  process.env.REDIS_URL = redisUrl;
  try {
    const bareSetup = await setUpBare(redisUrl);
    const oursSetup = await setUpOurs(redisUrl);
    await measure(bareSetup.pairs, WARMUP);
    await measure(oursSetup.pairs, WARMUP);
    // Alternate runs so JIT warm-up and machine noise hit both the same way; keep each one's median run.
    const bareRuns: Awaited<ReturnType<typeof measure>>[] = [];
    const oursRuns: Awaited<ReturnType<typeof measure>>[] = [];
    for (let r = 0; r < RUNS; r++) {
      bareRuns.push(await measure(bareSetup.pairs, ROUND_TRIPS));
      oursRuns.push(await measure(oursSetup.pairs, ROUND_TRIPS));
    }
    await Promise.all([bareSetup.close(), oursSetup.close()]);
    const median = (runs: Awaited<ReturnType<typeof measure>>[]) =>
      [...runs].sort((x, y) => x.elapsedMs - y.elapsedMs)[Math.floor(runs.length / 2)]!;
    const bare = median(bareRuns);
    const ours = median(oursRuns);
    const summary = (r: { elapsedMs: number; latencies: number[] }) => ({
      roundTrips: r.latencies.length,
      elapsedMs: Math.round(r.elapsedMs),
      roundTripsPerSecond: Math.round((r.latencies.length / r.elapsedMs) * 1000),
      p50Ms: Number(pct(r.latencies, 0.5).toFixed(3)),
      p99Ms: Number(pct(r.latencies, 0.99).toFixed(3)),
    });
    const o = summary(ours);
    const b = summary(bare);
    const result = {
      benchmark: 'relay',
      at: new Date().toISOString(),
      node: process.version,
      setup: {
        pairs: PAIRS,
        roundTrips: ROUND_TRIPS,
        runs: RUNS,
        topology: 'caller and callee on two instances, sharded Redis adapter, one Redis',
      },
      ours: o,
      bare: b,
      throughputRatio: Number((o.roundTripsPerSecond / b.roundTripsPerSecond).toFixed(3)),
      p50LatencyRatio: Number((o.p50Ms / b.p50Ms).toFixed(3)),
    };
    const dir = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(`${dir}relay.json`, `${JSON.stringify(result, null, 2)}\n`);
    const md = [
      `# relay benchmark (${result.at}, ${result.node})`,
      '',
      `${PAIRS} caller/callee pairs in parallel, ${ROUND_TRIPS} ICE round trips per run, ${RUNS} alternating runs each (median shown); caller and callee on two instances sharing one Redis, all in one process.`,
      '',
      '| relay | round trips/s | p50 ms | p99 ms |',
      '|---|---:|---:|---:|',
      `| ours (validate + rate limit + membership/route script + adapter) | ${o.roundTripsPerSecond} | ${o.p50Ms} | ${o.p99Ms} |`,
      `| bare Socket.io (io.to(id).emit, same adapter) | ${b.roundTripsPerSecond} | ${b.p50Ms} | ${b.p99Ms} |`,
      '',
      `Throughput ratio ours/bare: **${result.throughputRatio}**; p50 latency ratio: **${result.p50LatencyRatio}**.`,
      '',
    ].join('\n');
    writeFileSync(`${dir}relay.md`, md);
    process.stdout.write(`${md}\n`);
  } finally {
    await redisServer?.stop();
  }
}

await main();
process.exit(0);
