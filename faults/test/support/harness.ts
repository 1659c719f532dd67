// What every fault test shares: one whole stack per file (built services as processes behind Nginx,
// reached only through Nginx's URL, as the app does), users driven with the client SDK, calls with
// hand-made SDP (Node has no WebRTC), and reads of what users and the store see afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Call, Candidate, Offer } from '@voip/client/call';
import type { ConnectionState } from '@voip/client/connection-state';
import { memoryStorage } from '@voip/client/storage';
import { VoipClient, type VoipClientOptions } from '@voip/client/voip';
import { type Stack, type StackOptions, startStack } from '@voip/dev-stack/stack';
import { ulid } from 'ulid';
import { expect, vi } from 'vitest';

export const PASSWORD = 'correct horse battery';
export const offer: Offer = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=fault-offer\r\n' };
export const answer = {
  type: 'answer' as const,
  sdp: 'v=0\r\no=- 2 1 IN IP4 127.0.0.1\r\ns=fault-answer\r\n',
};

/**
 * Every client of a test comes from 127.0.0.1 and the same people call each other again and again, so the
 * per-address and per-pair limits (sign-ups, sockets, call and ring rates) are raised
 * out of the way; the gateway probes often, so it notices an upstream that went or came back at once.
 */
const ROOMY: NonNullable<StackOptions['serviceEnv']> = {
  gateway: {
    HEALTH_CHECK_INTERVAL_MS: '200',
    RATE_LIMIT_CREDENTIALS_MAX: '100000',
    RATE_LIMIT_ANON_MAX: '100000',
    RATE_LIMIT_USER_MAX: '100000',
  },
  auth: { REGISTER_MAX_PER_IP: '100000', GUEST_MAX_PER_IP: '100000' },
  signaling: {
    CONNECTIONS_PER_IP: '100000',
    UNAUTHENTICATED_PER_IP: '100000',
    EVENTS_PER_SECOND: '1000',
    EVENT_BURST: '2000',
  },
  call: {
    CALL_RATE_LIMIT: '100000',
    RING_LIMIT_PER_PAIR: '100000',
    RING_LIMIT_PER_CALLEE_FROM_STRANGERS: '100000',
  },
};

function mergeEnv(
  a: NonNullable<StackOptions['serviceEnv']>,
  b: NonNullable<StackOptions['serviceEnv']>,
): NonNullable<StackOptions['serviceEnv']> {
  const out: NonNullable<StackOptions['serviceEnv']> = { ...a };
  for (const [k, v] of Object.entries(b) as [keyof typeof b, Record<string, string>][])
    out[k] = { ...a[k], ...v };
  return out;
}

/** A distinct, valid ICE candidate per n (Node has no WebRTC: the tests trickle these by hand). */
export const candidateFor = (n: number): Candidate => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.${n % 250} 5${String(n).padStart(4, '0')} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

export interface FaultStack extends Stack {
  stateDir: string;
  dispose(): Promise<void>;
}

export async function startFaultStack(opts: Omit<StackOptions, 'stateDir'> = {}): Promise<FaultStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'voip-faults-'));
  try {
    const stack = await startStack({
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      coturn: false,
      ...opts,
      serviceEnv: mergeEnv(ROOMY, opts.serviceEnv ?? {}),
      stateDir,
    });
    await untilApiAnswers(stack.url);
    return Object.assign(stack, {
      stateDir,
      async dispose() {
        await stack.stopAll();
        if (!process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
      },
    });
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Waits until the gateway routes to auth, user and call: with a token, until each answers 200 (an
 * anonymous request can be refused by the gateway itself); without one, until none is 502/503/504.
 * Each path must answer several times in a row: Nginx spreads requests over the gateways, and each
 * gateway sees a restarted service come back at its own next probe.
 */
export async function untilApiAnswers(url: string, token?: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const IN_A_ROW = 6;
  for (const path of ['/api/auth/me', '/api/users/me', '/api/calls']) {
    for (let ok = 0; ok < IN_A_ROW; ) {
      const res = await fetch(url + path, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
        signal: AbortSignal.timeout(3000),
      }).catch(() => null);
      if (res && (token ? res.ok : ![502, 503, 504].includes(res.status))) {
        ok += 1;
        continue;
      }
      ok = 0;
      if (Date.now() > deadline) throw new Error(`${path} still unavailable through ${url}: ${res?.status}`);
      await sleep(100);
    }
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const unique = (prefix: string) =>
  `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Rejects with `message` when `p` has not settled in time (a missing event names itself). */
export function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export interface Online {
  client: VoipClient;
  id: string;
  username: string;
  states: ConnectionState[];
}

/** Users of one stack: registers, connects and remembers every client so `closeAll` ends them. */
export class People {
  readonly clients: VoipClient[] = [];
  constructor(private readonly url: () => string) {}

  /** A signed-up user, its socket connected (`connected` = the server's `session` arrived). */
  async online(name: string, opts: Partial<VoipClientOptions> = {}): Promise<Online> {
    const who = await this.signedUp(name, opts);
    who.client.connect();
    await vi.waitFor(() => expect(who.client.connection.state).toBe('connected'), {
      timeout: 20_000,
      interval: 50,
    });
    return who;
  }

  async signedUp(name: string, opts: Partial<VoipClientOptions> = {}): Promise<Online> {
    const client = new VoipClient({
      url: this.url(),
      storage: memoryStorage({ 'voip.clientId': ulid() }),
      ...opts,
    });
    this.clients.push(client);
    const username = unique(name.toLowerCase());
    const res = await client.auth.register({ username, password: PASSWORD, displayName: name });
    const states: ConnectionState[] = [];
    client.on('connection', (s) => states.push(s.state));
    return { client, id: res.user.id, username, states };
  }

  closeAll() {
    for (const c of this.clients.splice(0)) c.disconnect();
  }
}

/** `a` calls `b` (hand-made SDP) and `b` accepts: both sides `accepted`. */
export async function connectedCall(a: Online, b: Online): Promise<{ outgoing: Call; incoming: Call }> {
  const incomingP = b.client.next('incoming-call');
  const outgoing = await a.client.startCall(b.id, 'audio', { offer });
  const incoming = await within(incomingP, 15_000, `${b.username} never got incoming-call`);
  expect(incoming.id).toBe(outgoing.id);
  const accepted = outgoing.next('accepted');
  await incoming.accept({ answer });
  await within(accepted, 15_000, `${a.username} never got call-accepted`);
  return { outgoing, incoming };
}

/** Connections per signaling instance from each one's /status (-1 for one that does not answer). */
export async function connectionsPerInstance(stack: Stack): Promise<number[]> {
  const n = stack.processes.filter((p) => p.name === 'signaling').length;
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      try {
        const res = await fetch(`${stack.service('signaling', i).url}/status`, {
          signal: AbortSignal.timeout(2000),
        });
        return ((await res.json()) as { connections: number }).connections;
      } catch {
        return -1;
      }
    }),
  );
}

/**
 * A user connected to signaling instance `want` (Nginx hashes on clientId, so new clientIds are tried
 * until one lands there; the others are disconnected). Call while no other socket comes or goes.
 */
export async function onlineOn(
  stack: Stack,
  people: People,
  name: string,
  want: number,
  opts: Partial<VoipClientOptions> = {},
): Promise<Online> {
  // Each clientId lands on a given instance with a chance of about 1/n; 40 tries miss one of three
  // with a chance of (2/3)^40, about 1e-7 (16 tries, 1.5e-3, missed once in CI).
  const landed: number[] = [];
  for (let i = 0; i < 40; i++) {
    const pre = await connectionsPerInstance(stack);
    const who = await people.online(`${name}${i}`, opts);
    let at = -1;
    await vi.waitFor(
      async () => {
        const now = await connectionsPerInstance(stack);
        at = now.findIndex((n, k) => n > pre[k]!);
        expect(at).toBeGreaterThanOrEqual(0);
      },
      { timeout: 5000, interval: 100 },
    );
    landed.push(at);
    if (at === want) return who;
    who.client.disconnect();
    await vi.waitFor(async () => expect(await connectionsPerInstance(stack)).toEqual(pre), {
      timeout: 10_000,
      interval: 100,
    });
  }
  throw new Error(
    `no clientId landed on signaling instance ${want}; they landed on ${landed.join(',')}; ` +
      `connections now ${(await connectionsPerInstance(stack)).join(',')}`,
  );
}

/** The /ready status code of one process (0 when it does not answer). */
export async function readyStatus(url: string): Promise<number> {
  try {
    return (await fetch(`${url}/ready`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return 0;
  }
}

/** Waits until every service process answers /ready 200; the failure names the ones that do not, with their checks. */
export async function untilAllReady(stack: Stack, timeoutMs = 30_000): Promise<void> {
  const services = stack.processes.filter((p) => !['redis', 'mongo', 'nginx', 'coturn'].includes(p.name));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const bad: string[] = [];
    for (const p of services) {
      const res = await fetch(`${p.url}/ready`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
      if (!res?.ok)
        bad.push(`${p.name}#${p.index}: ${res ? `${res.status} ${await res.text()}` : 'no answer'}`);
    }
    if (bad.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${bad.join('; ')}`);
    await sleep(200);
  }
}

/** Every page of one user's call history, as REST gives it. */
export async function fullHistory(who: Online): Promise<{ callId: string; outcome: string }[]> {
  const all: { callId: string; outcome: string }[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await who.client.calls.history({ limit: 50, ...(before ? { before } : {}) });
    all.push(...page.items.map((c) => ({ callId: c.callId, outcome: c.outcome })));
    if (!page.nextCursor || page.items.length === 0) return all;
    before = page.nextCursor;
  }
}

/** Every change of one user's sync feed from the start. */
export async function fullSync(who: Online): Promise<{ entity: string; op: string; id: string }[]> {
  const all: { entity: string; op: string; id: string }[] = [];
  let since: string | undefined;
  for (;;) {
    const page = await who.client.users.syncChanges(since, 500);
    all.push(...page.changes.map((c) => ({ entity: c.entity, op: c.op, id: c.id })));
    since = page.cursor;
    if (!page.hasMore) return all;
  }
}

/** How many times each id occurs. */
export const counts = (ids: string[]) => {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
};
