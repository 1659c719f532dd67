// Realistic load for the dashboard preview, through the public door only (Nginx: REST + Socket.io),
// with the client SDK: accounts and guests connect, call each other (answered, declined, cancelled,
// unanswered), trickle ICE, lose their network and resume, call people who are offline (wake-up pushes)
// and make the usual client mistakes (bad logins, invalid bodies). No media: SDP is a stand-in string.
import { randomBytes } from 'node:crypto';
import type { Call } from '@voip/client/call';
import { memoryStorage } from '@voip/client/storage';
import { VoipClient } from '@voip/client/voip';

export interface TrafficOptions {
  url: string;
  durationMs: number;
  /** Called at `at` (0..1 of the run), once; the preview uses it to drain a signaling instance. */
  milestones?: { at: number; run: () => Promise<void> | void }[];
  log?: (line: string) => void;
}

interface Person {
  name: string;
  client: VoipClient;
  id: string;
  online: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pick = <T>(xs: T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
const sdp = (kind: string) => `v=0\r\no=- ${Date.now()} 2 IN IP4 127.0.0.1\r\ns=${kind}\r\nt=0 0\r\n`;
/**
 * What the SDK's getStats() sampling would send every few seconds (there is no media here): most calls
 * clean and direct, about a third relayed over TURN, about one in six on a lossy, slow path.
 */
async function reportQuality(client: VoipClient, call: Call, relayed: boolean, bad: boolean): Promise<void> {
  const jitter = (x: number) => x * (0.8 + Math.random() * 0.4);
  for (let seq = 1; !call.ended && seq < 100; seq++) {
    await client.signaling
      .request('call-quality', {
        callId: call.id,
        seq,
        intervalMs: 2500,
        rttMs: jitter(bad ? 420 : relayed ? 90 : 40),
        jitterMs: jitter(bad ? 35 : 5),
        packetLossInPct: jitter(bad ? 12 : 0.4),
        packetLossOutPct: jitter(bad ? 10 : 0.3),
        bitrateKbps: { audioIn: jitter(30), audioOut: jitter(32) },
        path: relayed
          ? {
              local: 'relay',
              remote: 'srflx',
              transport: 'udp',
              relayProtocol: Math.random() < 0.5 ? 'udp' : 'tls',
            }
          : { local: 'host', remote: 'srflx', transport: 'udp' },
        timeToMediaMs: jitter(relayed ? 900 : 400),
        step: bad ? 'audio-only' : '720p',
      })
      .catch(() => undefined);
    await sleep(2500);
  }
}

const candidate = (i: number) => ({
  candidate: `candidate:${i} 1 udp 2122260223 192.0.2.${(i % 250) + 1} ${50000 + i} typ host`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

export interface TrafficResult {
  stats: Record<string, number>;
  /** Disconnects everyone: the run leaves clients connected so the last scrape still sees them. */
  stop(): void;
}

export async function runTraffic(opts: TrafficOptions): Promise<TrafficResult> {
  const log = opts.log ?? (() => {});
  const stats: Record<string, number> = {};
  const count = (k: string) => {
    stats[k] = (stats[k] ?? 0) + 1;
  };
  const run = randomBytes(3).toString('hex');
  const client = () =>
    new VoipClient({ url: opts.url, storage: memoryStorage(), heartbeat: false, maxReconnectAttempts: 10 });

  // Twelve accounts (eight online, four offline with a push device) and three guests.
  const people: Person[] = [];
  for (let i = 0; i < 12; i++) {
    const c = client();
    const name = `preview_${run}_${i}`;
    const res = await c.auth.register({
      username: name,
      password: `pw-${run}-${i}-long-enough`,
      displayName: `Preview ${i}`,
    });
    people.push({ name, client: c, id: res.user.id, online: i < 8 });
  }
  for (const p of people.filter((x) => !x.online))
    await p.client.users.putDevice(`device-${p.name}`, { platform: 'android', pushToken: `token-${p.name}` });
  for (const p of people)
    for (const q of people) if (p !== q && Math.random() < 0.3) await p.client.users.addContact(q.id);
  const guests: VoipClient[] = [];
  for (let i = 0; i < 3; i++) {
    const g = client();
    await g.auth.guest(`Guest ${i}`);
    guests.push(g);
  }

  // Callees answer most calls after a ring, decline some, let a few ring out.
  for (const p of people) {
    p.client.on('incoming-call', (call: Call) => {
      count('incoming');
      const roll = Math.random();
      void (async () => {
        await sleep(500 + Math.random() * 2500);
        if (call.ended) return;
        if (roll < 0.7) {
          const ok = await call
            .accept({ answer: { type: 'answer', sdp: sdp('answer') } })
            .then(() => true)
            .catch(() => count('accept-failed'));
          for (let i = 0; i < 3; i++) call.sendIceCandidate(candidate(i));
          if (ok) void reportQuality(p.client, call, Math.random() < 0.35, Math.random() < 0.15);
        } else if (roll < 0.9) await call.reject('declined').catch(() => undefined);
        // else: it rings until the ring time-out
      })();
    });
  }
  const online = people.filter((p) => p.online);
  for (const p of online) p.client.connect();
  for (const g of guests) g.connect();
  log(`traffic: ${people.length} accounts (${online.length} connected), ${guests.length} guests`);

  const started = Date.now();
  const pending = [...(opts.milestones ?? [])].sort((a, b) => a.at - b.at);
  const busy = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  const oneCall = async (caller: Person, callee: Person) => {
    busy.add(caller.id);
    busy.add(callee.id);
    try {
      const call = await caller.client.startCall(callee.id, Math.random() < 0.3 ? 'video' : 'audio', {
        offer: { type: 'offer', sdp: sdp('offer') },
      });
      count(callee.online ? 'calls' : 'calls-to-offline');
      for (let i = 0; i < 4; i++) call.sendIceCandidate(candidate(i));
      if (!callee.online) {
        await sleep(3000 + Math.random() * 3000);
        await call.hangUp().catch(() => undefined);
        return;
      }
      const ended = new Promise<void>((r) => call.once('ended', () => r()));
      const relayed = Math.random() < 0.35;
      const bad = Math.random() < 0.15;
      call.once('accepted', () => void reportQuality(caller.client, call, relayed, bad));
      const talk = 4000 + Math.random() * 16_000;
      await Promise.race([ended, sleep(talk)]);
      if (!call.ended) {
        if (call.status === 'accepted' && Math.random() < 0.3) callee.client.signaling.dropTransport();
        await sleep(1000);
        await call.hangUp().catch(() => undefined);
      }
    } catch (err) {
      count(`call-refused:${(err as { code?: string }).code ?? 'error'}`);
    } finally {
      busy.delete(caller.id);
      busy.delete(callee.id);
    }
  };

  let tick = 0;
  while (Date.now() - started < opts.durationMs) {
    const progress = (Date.now() - started) / opts.durationMs;
    while (pending[0] && pending[0].at <= progress) {
      const m = pending.shift()!;
      await m.run();
    }
    tick++;
    // A call roughly every second, more in the middle of the run.
    const free = online.filter((p) => !busy.has(p.id));
    if (free.length >= 2 && Math.random() < 0.55 + 0.35 * Math.sin(progress * Math.PI)) {
      const caller = pick(free);
      const callee =
        Math.random() < 0.15 ? pick(people.filter((p) => !p.online)) : pick(free.filter((p) => p !== caller));
      const p = oneCall(caller, callee).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    // Everyday REST traffic and everyday mistakes.
    const someone = pick(online);
    await someone.client.users.me().catch(() => undefined);
    if (tick % 2 === 0)
      await someone.client.users.presence(online.slice(0, 5).map((p) => p.id)).catch(() => undefined);
    if (tick % 3 === 0) await someone.client.calls.history({ limit: 10 }).catch(() => undefined);
    if (tick % 5 === 0) await someone.client.users.search('preview').catch(() => undefined);
    if (tick % 4 === 0) {
      const stranger = client();
      await stranger.auth
        .login({ username: pick(people).name, password: 'wrong-password' })
        .catch(() => count('bad-login'));
    }
    if (tick % 6 === 0)
      await fetch(`${opts.url}/api/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token' },
        body: '{"calleeId": 42}',
      }).catch(() => undefined);
    // Now and then a phone changes network: the socket drops and resumes.
    if (tick % 9 === 0) pick(online).client.signaling.dropTransport();
    await sleep(700 + Math.random() * 600);
  }
  await Promise.allSettled([...inFlight]);
  log(`traffic: done ${JSON.stringify(stats)}`);
  return {
    stats,
    stop() {
      for (const p of people) p.client.disconnect();
      for (const g of guests) g.disconnect();
    },
  };
}
