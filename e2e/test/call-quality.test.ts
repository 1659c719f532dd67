// Call quality end to end (issue 19), through Nginx on the built services: both devices of a real call
// send `call-quality` summaries over their sockets, the peer hears the step change (`peer-quality`), and
// after the hang-up GET /api/calls/:id shows both sides' summaries with an estimated MOS and the path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, type ClientSocket, call, connect, register } from '@voip/testkit/public-client';

describe('call quality through the public door', () => {
  let stack: Stack;
  let stateDir: string;
  const sockets: ClientSocket[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-e2e-quality-'));
    stack = await startStack({
      stateDir,
      services: ['auth', 'user', 'call', 'signaling', 'gateway'],
      signalingInstances: 1,
      nginx: true,
      coturn: false,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
    });
  }, 180_000);

  afterAll(async () => {
    for (const s of sockets) s.disconnect();
    await stack?.stopAll();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  const emit = async (socket: ClientSocket, event: string, payload: unknown) =>
    (socket.timeout(20_000).emitWithAck as (e: string, p: unknown) => Promise<unknown>)(event, payload);
  const next = <T>(socket: ClientSocket, event: string) =>
    new Promise<T>((resolve) => (socket.once as (e: string, fn: (p: T) => void) => void)(event, resolve));

  it('stores both sides, with MOS and path, on the call record', async () => {
    const base = stack.url;
    const alice: Account = await register(base, 'Alice');
    const bob: Account = await register(base, 'Bob');
    const a = await connect(base, alice, 'websocket');
    const b = await connect(base, bob, 'websocket');
    sockets.push(a.socket, b.socket);

    const created = await call(base, 'POST', '/api/calls', {
      token: alice.accessToken,
      body: { calleeId: bob.id, media: 'video' },
    });
    expect(created.status, created.text).toBe(201);
    const callId = created.body.callId as string;
    const incoming = next(b.socket, 'incoming-call');
    expect(await emit(a.socket, 'call-user', { callId, offer: { type: 'offer', sdp: 'v=0\r\n' } })).toEqual({
      ok: true,
    });
    await incoming;
    const accepted = next(a.socket, 'call-accepted');
    expect(
      await emit(b.socket, 'accept-call', { callId, answer: { type: 'answer', sdp: 'v=0\r\n' } }),
    ).toEqual({ ok: true });
    await accepted;

    const peerQuality = next<{ callId: string; step: string; poor: boolean }>(b.socket, 'peer-quality');
    expect(
      await emit(a.socket, 'call-quality', {
        callId,
        seq: 1,
        intervalMs: 3000,
        rttMs: 45,
        jitterMs: 5,
        packetLossInPct: 1,
        packetLossOutPct: 0.5,
        bitrateKbps: { audioIn: 30, audioOut: 32, videoIn: 900, videoOut: 1100 },
        framesDecoded: 90,
        framesDropped: 1,
        path: { local: 'relay', remote: 'host', transport: 'udp', relayProtocol: 'tcp' },
        timeToMediaMs: 700,
        step: '480p',
      }),
    ).toEqual({ ok: true });
    expect(await peerQuality).toEqual({ callId, step: '480p', poor: false });
    expect(
      await emit(b.socket, 'call-quality', {
        callId,
        seq: 1,
        final: true,
        intervalMs: 3000,
        rttMs: 44,
        jitterMs: 4,
        packetLossInPct: 0,
        path: { local: 'host', remote: 'relay', transport: 'udp' },
        timeToMediaMs: 500,
      }),
    ).toEqual({ ok: true });
    expect(await emit(a.socket, 'end-call', { callId })).toEqual({ ok: true });
    expect(
      await emit(a.socket, 'call-quality', { callId, seq: 2, final: true, intervalMs: 1000, rttMs: 50 }),
    ).toEqual({
      ok: true,
    });

    // History is written by the call service from the stream: poll until both sides are final.
    let view:
      | { state: string; quality?: Record<string, { final: boolean; path: string; avg: { mos: number } }> }
      | undefined;
    for (let i = 0; i < 200; i++) {
      const res = await call(base, 'GET', `/api/calls/${callId}`, { token: bob.accessToken });
      expect(res.status).toBe(200);
      view = res.body;
      if (view?.state === 'ended' && view.quality?.caller?.final && view.quality?.callee?.final) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(view?.quality?.caller).toMatchObject({
      samples: 2,
      path: 'relay',
      relayProtocol: 'tcp',
      step: '480p',
    });
    expect(view?.quality?.callee).toMatchObject({ samples: 1, path: 'relay', timeToMediaMs: 500 });
    expect(view?.quality?.caller?.avg.mos).toBeGreaterThan(4);
  }, 120_000);
});
