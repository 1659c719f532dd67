// The call-setup load generator (its own process, on the load core): holds both sockets of every pair
// through Nginx (WSS) and places complete calls, open loop: REST initiate → call-user → incoming-call →
// accept-call → call-accepted → 4 ICE candidates each way → end-call → call-ended on both. Latency is
// counted from each call's intended start, so a stall shows as latency of every call that should have
// started meanwhile. A pair carries one call at a time; an arrival with no free pair is a failure.
import { histogram, type LatencySummary } from '../lib/hdr.ts';
import { openLoop } from '../lib/openloop.ts';
import { AckRefused, connectSio, emitOk, type SioClient, sourceAddresses } from '../lib/sio.ts';

export interface Person {
  userId: string;
  clientId: string;
  token: string;
}
export interface PairSpec {
  caller: Person;
  callee: Person;
}

const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=bench-offer\r\n' };
const answer = { type: 'answer', sdp: 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=bench-answer\r\n' };
const candidate = (n: number) => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n % 250} 5${String(n).padStart(4, '0')} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});
const ICE_EACH_WAY = 4;
const CALL_TIMEOUT_MS = Number(process.env.BENCH_CALL_TIMEOUT_MS ?? 15_000);

/** Events of one socket routed by callId, buffered until someone waits for them. */
class Inbox {
  private arrived = new Map<string, unknown[]>();
  private waiting = new Map<string, { n: number; got: unknown[]; resolve(v: unknown[]): void }>();
  constructor(sock: SioClient, events: string[]) {
    for (const e of events)
      sock.on(e, (data: { callId?: string }) => {
        if (data?.callId) this.deliver(`${e}:${data.callId}`, data);
      });
  }
  private deliver(key: string, data: unknown) {
    const w = this.waiting.get(key);
    if (w) {
      w.got.push(data);
      if (w.got.length >= w.n) {
        this.waiting.delete(key);
        w.resolve(w.got);
      }
      return;
    }
    const list = this.arrived.get(key) ?? [];
    list.push(data);
    this.arrived.set(key, list);
  }
  /** Resolves once `n` events `event` of `callId` have come (counting those already here). */
  wait(event: string, callId: string, n = 1): Promise<unknown[]> {
    const key = `${event}:${callId}`;
    const got = this.arrived.get(key) ?? [];
    this.arrived.delete(key);
    if (got.length >= n) return Promise.resolve(got);
    return new Promise((resolve) => this.waiting.set(key, { n, got, resolve }));
  }
  forget(callId: string) {
    for (const k of [...this.arrived.keys()]) if (k.endsWith(`:${callId}`)) this.arrived.delete(k);
    for (const k of [...this.waiting.keys()]) if (k.endsWith(`:${callId}`)) this.waiting.delete(k);
  }
}

interface Side {
  person: Person;
  sock: SioClient;
  inbox: Inbox;
}
interface Pair {
  caller: Side;
  callee: Side;
  busy: boolean;
}

let baseUrl = '';
let pairs: Pair[] = [];
const EVENTS = ['incoming-call', 'call-accepted', 'ice-candidate', 'call-ended'];

export async function connect(arg: { url: string; pairs: PairSpec[] }) {
  baseUrl = arg.url;
  const next = sourceAddresses();
  const open = async (person: Person): Promise<Side> => {
    const sock = await connectSio(baseUrl, {
      auth: { token: person.token, clientId: person.clientId },
      localAddress: next(),
    });
    return { person, sock, inbox: new Inbox(sock, EVENTS) };
  };
  const out: Pair[] = [];
  for (let i = 0; i < arg.pairs.length; i += 50) {
    const batch = arg.pairs.slice(i, i + 50);
    out.push(
      ...(await Promise.all(
        batch.map(async (p) => ({ caller: await open(p.caller), callee: await open(p.callee), busy: false })),
      )),
    );
  }
  pairs = out;
  return { connected: pairs.length * 2 };
}

const PHASES = ['initiate', 'ring', 'accept', 'setup', 'ice', 'end', 'total'] as const;
type Phase = (typeof PHASES)[number];

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timeout:${what}`)), CALL_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(t));
}

async function oneCall(pair: Pair, intended: number, h: Record<Phase, ReturnType<typeof histogram>>) {
  const { caller, callee } = pair;
  let phase = 'initiate';
  let callId = '';
  try {
    const res = await withTimeout(
      fetch(`${baseUrl}/api/calls`, {
        method: 'POST',
        headers: { authorization: `Bearer ${caller.person.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ calleeId: callee.person.userId, media: 'audio' }),
      }),
      phase,
    );
    const body = (await res.json()) as { callId?: string; state?: string; error?: { code?: string } };
    if (res.status !== 201 || !body.callId || body.state !== 'ringing')
      throw new Error(`initiate:${res.status}:${body.error?.code ?? body.state ?? ''}`);
    callId = body.callId;
    const tInitiated = performance.now();

    phase = 'ring';
    const incoming = callee.inbox.wait('incoming-call', callId);
    await withTimeout(emitOk(caller.sock, 'call-user', { callId, offer }), phase);
    await withTimeout(incoming, phase);
    const tRang = performance.now();

    phase = 'accept';
    const accepted = caller.inbox.wait('call-accepted', callId);
    await withTimeout(emitOk(callee.sock, 'accept-call', { callId, answer }), phase);
    await withTimeout(accepted, phase);
    const tAccepted = performance.now();

    phase = 'ice';
    const iceAtCaller = caller.inbox.wait('ice-candidate', callId, ICE_EACH_WAY);
    const iceAtCallee = callee.inbox.wait('ice-candidate', callId, ICE_EACH_WAY);
    for (let n = 0; n < ICE_EACH_WAY; n++) {
      caller.sock.emit('ice-candidate', { callId, candidate: candidate(n) });
      callee.sock.emit('ice-candidate', { callId, candidate: candidate(100 + n) });
    }
    await withTimeout(Promise.all([iceAtCaller, iceAtCallee]), phase);
    const tIce = performance.now();

    phase = 'end';
    const endedCaller = caller.inbox.wait('call-ended', callId);
    const endedCallee = callee.inbox.wait('call-ended', callId);
    await withTimeout(emitOk(caller.sock, 'end-call', { callId, reason: 'hangup' }), phase);
    await withTimeout(Promise.all([endedCaller, endedCallee]), phase);
    const tEnded = performance.now();

    h.initiate.record(tInitiated - intended);
    h.ring.record(tRang - tInitiated);
    h.accept.record(tAccepted - tRang);
    h.setup.record(tAccepted - intended);
    h.ice.record(tIce - tAccepted);
    h.end.record(tEnded - tIce);
    h.total.record(tEnded - intended);
    return { ok: true as const, callId };
  } catch (err) {
    // A refused ack counts as `event:code` (the server's message would split one kind of failure).
    const m =
      err instanceof AckRefused
        ? `${err.event}:${err.ack.error?.code}`
        : err instanceof Error
          ? err.message
          : String(err);
    return { ok: false as const, callId, reason: m.startsWith('timeout:') ? m : m.slice(0, 80) };
  } finally {
    if (callId) {
      caller.inbox.forget(callId);
      callee.inbox.forget(callId);
    }
  }
}

export interface StepResult {
  offeredPerSecond: number;
  durationMs: number;
  sent: number;
  completed: number;
  failed: number;
  failures: Record<string, number>;
  /** Completed calls per second of the step (from the first intended start to the last call's end). */
  completedPerSecond: number;
  lateMaxMs: number;
  latency: Record<Phase, LatencySummary>;
  generatorCpuMs: number;
}

/** One open-loop step at `rate` calls/s for `durationMs`; resolves when every call of it has finished. */
export async function step(arg: { rate: number; durationMs: number }): Promise<StepResult> {
  const h = Object.fromEntries(PHASES.map((p) => [p, histogram()])) as Record<
    Phase,
    ReturnType<typeof histogram>
  >;
  const failures: Record<string, number> = {};
  const inflight: Promise<unknown>[] = [];
  const free = pairs.filter((p) => !p.busy);
  let completed = 0;
  let lastEnd = 0;
  const cpu0 = process.cpuUsage();
  const loop = await openLoop(arg.rate, arg.durationMs, (_i, intended) => {
    const pair = free.shift();
    if (!pair) {
      failures['no-free-pair'] = (failures['no-free-pair'] ?? 0) + 1;
      return;
    }
    pair.busy = true;
    inflight.push(
      oneCall(pair, intended, h).then((r) => {
        pair.busy = false;
        free.push(pair);
        lastEnd = performance.now();
        if (r.ok) completed++;
        else failures[r.reason] = (failures[r.reason] ?? 0) + 1;
      }),
    );
  });
  await Promise.all(inflight);
  const cpu = process.cpuUsage(cpu0);
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  const spanMs = Math.max(1, (lastEnd || loop.endedMs) - loop.startedMs);
  return {
    offeredPerSecond: arg.rate,
    durationMs: arg.durationMs,
    sent: loop.sent,
    completed,
    failed,
    failures,
    completedPerSecond: Number(((completed * 1000) / spanMs).toFixed(1)),
    lateMaxMs: Number(loop.lateMaxMs.toFixed(1)),
    latency: Object.fromEntries(PHASES.map((p) => [p, h[p].summary()])) as Record<Phase, LatencySummary>,
    generatorCpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}

export function close() {
  for (const p of pairs) {
    p.caller.sock.close();
    p.callee.sock.close();
  }
  pairs = [];
  return null;
}
