// Load generator of the relay scenario (runs in its own process on the load core, see lib/worker.ts).
// Arms: `ours-*` (our SDK's protocol: handshake with lastSeq 0, call-user / accept-call, then
// `ice-candidate` with an ack), `bare-*` (the same Socket.io wire format, `relay` to the callee's device
// room, with an ack), `peerjs` (PeerJS's JSON over ws: CANDIDATE with dst). Each message carries its
// number in the candidate string; the callee side looks up its intended send time.
import WebSocket from 'ws';
import { histogram } from '../lib/hdr.ts';
import { openLoop as schedule } from '../lib/openloop.ts';
import { bareParty, setUpCall } from '../lib/device.ts';
import { connectSio, type SioClient, sourceAddresses } from '../lib/sio.ts';

export interface PairSpec {
  callId: string;
  caller: { url: string; userId: string; clientId: string; token?: string };
  callee: { url: string; userId: string; clientId: string; token?: string };
}
type Kind = 'ours' | 'bare' | 'peerjs';
interface Pair {
  send(seq: number): void;
  /** Called by the callee side with the seq it received. */
  onReceive: (seq: number) => void;
  close(): void;
}

const arms = new Map<string, Pair[]>();
const source = sourceAddresses();
const candidate = (seq: number) => ({
  candidate: `candidate:${seq} 1 udp 2122260223 192.0.2.1 ${10000 + (seq % 50000)} typ host generation 0 ufrag Xy3p network-id 1`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});
const seqOf = (c: { candidate: string } | undefined) =>
  c ? Number(c.candidate.slice(10, c.candidate.indexOf(' '))) : -1;
let nextSeq = 0;

async function oursPair(p: PairSpec): Promise<Pair> {
  const x = await connectSio(p.caller.url, {
    auth: { token: p.caller.token, clientId: p.caller.clientId, lastSeq: 0 },
    localAddress: source(),
  });
  const y = await connectSio(p.callee.url, {
    auth: { token: p.callee.token, clientId: p.callee.clientId, lastSeq: 0 },
    localAddress: source(),
  });
  await setUpCall(bareParty(x), bareParty(y), p.callId);
  // With an ack id, as every client of ours sends it (the answer is read and dropped).
  return pairOf(x, y, (seq) => ['ice-candidate', { callId: p.callId, candidate: candidate(seq) }]);
}

/** The pair's sending side (`x`, each message with an ack id) and receiving side (`y`'s ice-candidate). */
function pairOf(x: SioClient, y: SioClient, message: (seq: number) => [string, unknown]): Pair {
  let ackId = 1;
  const pair: Pair = {
    send: (seq) => {
      if (x.ws.readyState === 1) x.ws.send(`42${ackId++}${JSON.stringify(message(seq))}`);
    },
    onReceive: () => {},
    close: () => {
      x.close();
      y.close();
    },
  };
  y.on('ice-candidate', (d: { candidate: { candidate: string } }) => pair.onReceive(seqOf(d.candidate)));
  return pair;
}

async function barePair(p: PairSpec): Promise<Pair> {
  const x = await connectSio(p.caller.url, {
    auth: { userId: p.caller.userId, clientId: p.caller.clientId },
    localAddress: source(),
  });
  const y = await connectSio(p.callee.url, {
    auth: { userId: p.callee.userId, clientId: p.callee.clientId },
    localAddress: source(),
  });
  await new Promise((r) => setTimeout(r, 50));
  const to = `client:${p.callee.userId}:${p.callee.clientId}`;
  return pairOf(x, y, (seq) => ['relay', { to, data: { callId: p.callId, candidate: candidate(seq) } }]);
}

function peerSocket(url: string, id: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `${url.replace(/^http/, 'ws')}/peerjs?key=peerjs&id=${id}&token=${id.slice(-8)}`,
      {
        perMessageDeflate: false,
        localAddress: source(),
      },
    );
    ws.once('error', reject);
    ws.once('message', (m: Buffer) => {
      const t = (JSON.parse(m.toString()) as { type: string }).type;
      if (t === 'OPEN') resolve(ws);
      else reject(new Error(`peerjs: ${m}`));
    });
  });
}

async function peerPair(p: PairSpec): Promise<Pair> {
  const x = await peerSocket(p.caller.url, p.caller.userId);
  const y = await peerSocket(p.callee.url, p.callee.userId);
  const pair: Pair = {
    send: (seq) => {
      if (x.readyState === 1)
        x.send(
          JSON.stringify({
            type: 'CANDIDATE',
            dst: p.callee.userId,
            payload: { callId: p.callId, candidate: candidate(seq) },
          }),
        );
    },
    onReceive: () => {},
    close: () => {
      x.close();
      y.close();
    },
  };
  y.on('message', (m: Buffer) => {
    const d = JSON.parse(m.toString()) as { type: string; payload?: { candidate: { candidate: string } } };
    if (d.type === 'CANDIDATE') pair.onReceive(seqOf(d.payload?.candidate));
  });
  return pair;
}

export async function connect(a: { arm: string; kind: Kind; pairs: PairSpec[] }) {
  const make = a.kind === 'ours' ? oursPair : a.kind === 'bare' ? barePair : peerPair;
  const pairs: Pair[] = [];
  for (const p of a.pairs) pairs.push(await make(p));
  arms.set(a.arm, pairs);
  return { pairs: pairs.length };
}

/** Each pair keeps `window` messages in flight: the highest rate the arm sustains. */
export async function saturate(a: { arm: string; durationMs: number; window: number }) {
  const pairs = arms.get(a.arm)!;
  let received = 0;
  let counting = false;
  let stop = false;
  for (const p of pairs) {
    p.onReceive = () => {
      if (counting) received++;
      if (!stop) p.send(nextSeq++);
    };
    for (let i = 0; i < a.window; i++) p.send(nextSeq++);
  }
  await new Promise((r) => setTimeout(r, Math.min(1000, a.durationMs / 4))); // ramp
  counting = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, a.durationMs));
  counting = false;
  const elapsed = performance.now() - t0;
  stop = true;
  await new Promise((r) => setTimeout(r, 500)); // drain what is in flight
  for (const p of pairs) p.onReceive = () => {};
  return { received, elapsedMs: elapsed, perSecond: (received * 1000) / elapsed };
}

/** Open loop at `rate` messages/s over all pairs (round robin), latency from each intended send time. */
export async function openLoop(a: { arm: string; rate: number; durationMs: number; drainMs: number }) {
  const pairs = arms.get(a.arm)!;
  const h = histogram();
  const base = nextSeq;
  const total = Math.floor((a.rate * a.durationMs) / 1000);
  nextSeq += total;
  const intended = new Float64Array(total);
  const seen = new Uint8Array(total);
  let received = 0;
  let duplicated = 0;
  let reordered = 0;
  const lastSeen = new Float64Array(pairs.length).fill(-1);
  pairs.forEach((p, k) => {
    p.onReceive = (seq) => {
      const i = seq - base;
      if (i < 0 || i >= total) return;
      if (seen[i]) {
        duplicated++;
        return;
      }
      seen[i] = 1;
      received++;
      if (i < lastSeen[k]!) reordered++;
      lastSeen[k] = i;
      h.record(performance.now() - intended[i]!);
    };
  });
  const s = await schedule(a.rate, a.durationMs, (i, at) => {
    intended[i] = at;
    pairs[i % pairs.length]!.send(base + i);
  });
  const until = performance.now() + a.drainMs;
  while (received < total && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  for (const p of pairs) p.onReceive = () => {};
  return {
    offered: a.rate,
    sent: s.sent,
    received,
    lost: total - received,
    duplicated,
    reordered,
    achievedPerSecond: (received * 1000) / (s.endedMs - s.startedMs),
    generatorLateMaxMs: Number(s.lateMaxMs.toFixed(3)),
    latency: h.summary(),
  };
}

export async function close(a: { arm: string }) {
  for (const p of arms.get(a.arm) ?? []) p.close();
  arms.delete(a.arm);
  return {};
}
