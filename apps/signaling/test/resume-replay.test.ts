// A link that dies SILENTLY (a phone moving from Wi-Fi to LTE: no FIN, the server's socket looks alive until
// its ping times out): what the peer sends meanwhile is emitted into the dead socket. A device that asked for
// numbered delivery (`auth.lastSeq`) gets it replayed on its resume, exactly once, in order.
import { createServer, type Server, type Socket as TcpSocket, connect as tcpConnect } from 'node:net';
import { keys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  acceptedCall,
  candidate,
  connect,
  eventually,
  type Instance,
  principal,
  type TestClient,
  useCluster,
} from './support/cluster.js';

const cluster = useCluster(2, { RESUME_WINDOW_MS: '10000' });
let a: Instance;
let b: Instance;
let redis: Redis;
const { track } = cluster;
beforeAll(() => {
  [a, b] = cluster.instances as [Instance, Instance];
  ({ redis } = cluster);
});

/** A TCP relay in front of an instance; drop() stops forwarding both ways and closes nothing (a silent drop). */
async function tcpRelay(targetUrl: string): Promise<{ url: string; drop(): void; close(): void }> {
  const targetPort = Number(new URL(targetUrl).port);
  const sockets: TcpSocket[] = [];
  let dropped = false;
  const server: Server = createServer((inbound) => {
    const outbound = tcpConnect(targetPort, '127.0.0.1');
    sockets.push(inbound, outbound);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      from.on('data', (chunk) => {
        if (!dropped) to.write(chunk);
      });
      from.on('error', () => {});
      from.on('close', () => {
        if (!dropped) to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    drop: () => {
      dropped = true;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

const relays: { close(): void }[] = [];
afterAll(() => {
  for (const r of relays) r.close();
});

interface Numbered {
  event: string;
  payload: { seq?: number; candidate?: { candidate: string } | null; description?: unknown };
}

/** What a device kept of a client's events: the call messages, and the highest seq it has. */
function callMessages(c: TestClient): Numbered[] {
  return c.received.filter((r) => r.event === 'ice-candidate' || r.event === 'renegotiate') as Numbered[];
}
function highestSeq(c: TestClient): number {
  return Math.max(0, ...c.received.map((r) => (r.payload as { seq?: number } | null)?.seq ?? 0));
}

describe('resume replay after a silent drop', () => {
  it('the peer streams candidates across a silent drop; the resumed device has every one exactly once, in order', async () => {
    const relay = await tcpRelay(a.url);
    relays.push(relay);
    const x = await principal(redis);
    const y = await principal(redis);
    // x numbers what it receives (lastSeq 0 on its first connect); y is an old client (no lastSeq).
    const clientId = ulid();
    const cx = track(
      await connect(relay.url, { token: x.token, clientId, extra: { auth: authOf(x.token, clientId, 0) } }),
    );
    const cy = track(await connect(b.url, { token: y.token }));
    const callId = await acceptedCall(cluster.store, { x, cx }, { y, cy });
    const accepted = cx.arrivals.includes('call-accepted');
    expect(accepted).toBe(true);

    const sent: string[] = [];
    const send = async (n: number) => {
      const c = candidate(n);
      sent.push(c.candidate);
      expect(await cy.ack('ice-candidate', { callId, candidate: c })).toEqual({ ok: true });
    };
    for (let n = 1; n <= 5; n++) await send(n);
    await eventually(() => callMessages(cx).length === 5);
    // An old client's payloads are unchanged: no seq.
    expect(cy.received.every((r) => (r.payload as { seq?: number } | null)?.seq === undefined)).toBe(true);

    relay.drop(); // Wi-Fi gone: nothing reaches x any more, and the server does not know
    for (let n = 6; n <= 10; n++) await send(n);
    const restart = { type: 'offer' as const, sdp: 'v=0\r\na=ice-restart\r\n' };
    expect(await cy.ack('renegotiate', { callId, description: restart })).toEqual({ ok: true });
    await send(11);
    expect(callMessages(cx)).toHaveLength(5); // none of them arrived on the dead link

    // LTE: x resumes on the other instance with what it has.
    const have = highestSeq(cx);
    const back = track(
      await connect(b.url, {
        token: x.token,
        clientId: cx.clientId,
        extra: { auth: authOf(x.token, cx.clientId, have, cx.session!.resumeToken) },
      }),
    );
    expect(back.session).toMatchObject({ resumed: true });
    for (let n = 12; n <= 14; n++) await send(n);
    // Wait for the last one sent: what is missing before it was lost.
    await eventually(() => callMessages(back).some((m) => m.payload.candidate?.candidate === sent.at(-1)));

    const all = [...callMessages(cx), ...callMessages(back)];
    const candidates = all
      .filter((m) => m.event === 'ice-candidate')
      .map((m) => m.payload.candidate?.candidate);
    expect(candidates).toEqual(sent);
    // The restart offer came between candidates 10 and 11, as it was sent.
    expect(all.map((m) => m.event)).toEqual([
      ...Array(10).fill('ice-candidate'),
      'renegotiate',
      ...Array(4).fill('ice-candidate'),
    ]);
    expect(all[10]?.payload.description).toEqual(restart);
    const seqs = all.map((m) => m.payload.seq ?? 0);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(seqs[0]).toBeGreaterThan(0);
  }, 60_000);

  it('a heartbeat with lastSeq (a cumulative ack) trims what the server keeps to replay', async () => {
    const x = await principal(redis);
    const y = await principal(redis);
    const clientId = ulid();
    const cx = track(
      await connect(a.url, { token: x.token, clientId, extra: { auth: authOf(x.token, clientId, 0) } }),
    );
    const cy = track(await connect(b.url, { token: y.token }));
    const callId = await acceptedCall(cluster.store, { x, cx }, { y, cy });
    for (let n = 1; n <= 3; n++)
      expect(await cy.ack('ice-candidate', { callId, candidate: candidate(n) })).toEqual({ ok: true });
    await eventually(() => callMessages(cx).length === 3);
    const kept = keys.replay(x.userId, clientId);
    const have = highestSeq(cx);
    // call-accepted and the three candidates, all emitted live, all kept until acknowledged.
    expect(await redis.llen(kept)).toBe(have);

    expect(await cx.ack('heartbeat', { lastSeq: have - 1 })).toMatchObject({ ok: true });
    expect(await redis.llen(kept)).toBe(1);
    expect(await cx.ack('heartbeat', { lastSeq: have })).toMatchObject({ ok: true });
    expect(await redis.llen(kept)).toBe(0);
    expect(await redis.exists(keys.replayBytes(x.userId, clientId))).toBe(0);
    // A malformed ack is refused like any bad payload.
    expect(await cx.ack('heartbeat', { lastSeq: -1 })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
  }, 60_000);
});

function authOf(token: string, clientId: string, lastSeq: number, resumeToken?: string) {
  return {
    token,
    clientId,
    lastSeq,
    ...(resumeToken ? { resumeToken } : {}),
  };
}
