// Generator of the resume scenario. The caller streams numbered ICE candidates at a fixed rate (open
// loop); the callee is connected through a Toxiproxy proxy, which at `dropAtMs` goes silent both ways (no
// FIN); `detectMs` later the callee connects to another instance (ours: with its resume token and the
// last seq it got; bare: the same user and device, no resume exists) and keeps receiving. Counts what
// reached the callee: lost, duplicated, reordered (by candidate number), as the SDK sees them (ours:
// numbered messages at or below lastSeq dropped, as the SDKs do) and as the wire delivered them.
import { bareParty, setUpCall } from '../lib/device.ts';
import { openLoop } from '../lib/openloop.ts';
import { type Ack, connectSio, type SioClient, sourceAddresses } from '../lib/sio.ts';
import { blackhole } from '../lib/toxiproxy.ts';

const source = sourceAddresses();
const iceOf = (n: number) => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.1 ${10000 + (n % 50000)} typ host generation 0`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});
const numOf = (c: { candidate: string }) => Number(c.candidate.slice(10, c.candidate.indexOf(' ')));

export interface ResumeArgs {
  kind: 'ours' | 'bare';
  callId: string;
  caller: { url: string; auth: Record<string, unknown> };
  callee: {
    proxyUrl: string;
    resumeUrl: string;
    auth: Record<string, unknown>;
    userId: string;
    clientId: string;
  };
  toxiproxy: { api: string; proxy: string };
  rate: number;
  totalMs: number;
  dropAtMs: number;
  detectMs: number;
}

export async function run(a: ResumeArgs) {
  const caller = await connectSio(a.caller.url, { auth: a.caller.auth, localAddress: source() });
  const first = await connectSio(a.callee.proxyUrl, { auth: a.callee.auth, localAddress: source() });
  let callee: SioClient = first;
  let resumeToken = '';
  let lastSeq = 0;
  const wire: number[] = [];
  const app: number[] = [];
  let current = 0;
  const listen = (s: SioClient, gen: number) => {
    s.on('session', (d: { resumeToken: string; resumed?: boolean }) => {
      resumeToken = d.resumeToken;
      if (gen > 0) resumed = d.resumed === true;
    });
    s.on('ice-candidate', (d: { candidate: { candidate: string }; seq?: number }) => {
      if (gen !== current) return; // the abandoned socket (nothing arrives through the silent proxy anyway)
      const n = numOf(d.candidate);
      wire.push(n);
      if (typeof d.seq === 'number') {
        if (d.seq <= lastSeq) return;
        lastSeq = d.seq;
      }
      app.push(n);
    });
  };
  let resumed = false;
  listen(callee, 0);
  if (a.kind === 'ours') await setUpCall(bareParty(caller), bareParty(callee), a.callId);
  await new Promise((r) => setTimeout(r, 200));
  const peerEvents: { event: string; atMs: number }[] = [];
  const t0 = performance.now();
  caller.on('peer-reconnecting', () =>
    peerEvents.push({ event: 'peer-reconnecting', atMs: performance.now() - t0 }),
  );
  caller.on('peer-reconnected', () =>
    peerEvents.push({ event: 'peer-reconnected', atMs: performance.now() - t0 }),
  );
  const refused: string[] = [];
  let acks = 0;
  const to = `client:${a.callee.userId}:${a.callee.clientId}`;
  const timeline = (async () => {
    await new Promise((r) => setTimeout(r, a.dropAtMs));
    await blackhole(a.toxiproxy.api, a.toxiproxy.proxy);
    const droppedAt = performance.now() - t0;
    await new Promise((r) => setTimeout(r, a.detectMs));
    const reconnectAt = performance.now() - t0;
    current = 1;
    const auth = a.kind === 'ours' ? { ...a.callee.auth, resumeToken, lastSeq } : a.callee.auth;
    callee = await connectSio(a.callee.resumeUrl, { auth, localAddress: source() });
    listen(callee, 1);
    const connectedAt = performance.now() - t0;
    return { droppedAt, reconnectAt, connectedAt };
  })();
  const sent = await openLoop(a.rate, a.totalMs, (i) => {
    const p =
      a.kind === 'ours'
        ? caller.emitWithAck<Ack>('ice-candidate', { callId: a.callId, candidate: iceOf(i) }, 60_000)
        : caller.emitWithAck<Ack>('relay', { to, data: { callId: a.callId, candidate: iceOf(i) } }, 60_000);
    p.then(
      (ack) => {
        acks++;
        if (!ack.ok) refused.push(ack.error?.code ?? 'error');
      },
      (e: Error) => refused.push(e.message),
    );
  });
  const times = await timeline;
  const until = performance.now() + 5000;
  while (performance.now() < until && (app.length < sent.sent || acks < sent.sent))
    await new Promise((r) => setTimeout(r, 50));
  const count = (xs: number[]) => {
    const seen = new Set<number>();
    let dup = 0;
    let reordered = 0;
    let max = -1;
    for (const n of xs) {
      if (seen.has(n)) dup++;
      else seen.add(n);
      if (n < max) reordered++;
      max = Math.max(max, n);
    }
    let lost = 0;
    for (let i = 0; i < sent.sent; i++) if (!seen.has(i)) lost++;
    return { received: xs.length, lost, duplicated: dup, reordered };
  };
  const reconnected = peerEvents.find((e) => e.event === 'peer-reconnected');
  caller.close();
  callee.close();
  first.ws.terminate();
  return {
    sent: sent.sent,
    refused: refused.length,
    refusedCodes: [...new Set(refused)],
    resumed,
    ...times,
    peerEvents,
    timeToPeerReconnectedMs: reconnected ? Number((reconnected.atMs - times.reconnectAt).toFixed(1)) : null,
    sdk: count(app),
    wire: count(wire),
  };
}
