// Generator of the gateway scenario: authenticated GETs over keep-alive HTTP/1.1, each request with the
// next token of the list (one token: every session check a cache hit; thousands: mostly misses).
import { Agent, request } from 'node:http';
import { histogram } from '../lib/hdr.ts';
import { openLoop as schedule } from '../lib/openloop.ts';

const agents = new Map<string, Agent>();
const agentFor = (url: string) => {
  let a = agents.get(url);
  if (!a) {
    a = new Agent({ keepAlive: true, maxSockets: 256 });
    agents.set(url, a);
  }
  return a;
};

function get(url: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      { agent: agentFor(url), headers: { authorization: `Bearer ${token}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** Closed loop, `concurrency` requests outstanding: the highest rate (as autocannon measured it before). */
export async function saturate(a: {
  url: string;
  tokens: string[];
  concurrency: number;
  durationMs: number;
}) {
  let n = 0;
  let ok = 0;
  let bad = 0;
  const until = performance.now() + a.durationMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: a.concurrency }, async () => {
      while (performance.now() < until) {
        const s = await get(a.url, a.tokens[n++ % a.tokens.length]!);
        if (s === 200) ok++;
        else bad++;
      }
    }),
  );
  return { perSecond: (ok * 1000) / (performance.now() - t0), ok, bad };
}

/** Open loop at `rate` requests/s; latency from each request's intended send time. */
export async function openLoop(a: { url: string; tokens: string[]; rate: number; durationMs: number }) {
  const h = histogram();
  let ok = 0;
  let bad = 0;
  const pending: Promise<void>[] = [];
  await schedule(a.rate, a.durationMs, (i, at) => {
    pending.push(
      get(a.url, a.tokens[i % a.tokens.length]!).then((s) => {
        h.record(performance.now() - at);
        if (s === 200) ok++;
        else bad++;
      }),
    );
  });
  await Promise.all(pending);
  return { offered: a.rate, ok, bad, latency: h.summary() };
}
