// Issue 18 end to end, through Nginx on the built services with a real Janus and real Chromium media:
// a recording asked for and consented to, media published to and received from the call's room, the
// file post-processed and downloaded by participants only; refused consent; a stranger; Janus killed
// mid-recording; the media service killed during post-processing. One stack for the file.
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RECORDING_SERVER_EVENTS } from '@voip/contracts/socket-events';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import type { Browser, Page } from 'playwright-core';
import { type HoldingProxy, startHoldingProxy } from '@voip/testkit/holding-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  type ClientSocket,
  call,
  connect,
  rawGet,
  register,
} from '@voip/testkit/public-client';
import { launchChromium, openRoomPage, room } from './support/room-page.js';

const run = promisify(execFile);

async function ffprobe(file: string) {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration:stream=codec_type',
    '-of',
    'json',
    file,
  ]);
  const out = JSON.parse(stdout) as { format: { duration: string }; streams: { codec_type: string }[] };
  return { durationMs: Number(out.format.duration) * 1000, types: out.streams.map((s) => s.codec_type) };
}

interface Person extends Account {
  socket: ClientSocket;
  events: { name: string; payload: Record<string, unknown> }[];
}

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('call recording through Janus', () => {
  let stack: Stack;
  let stateDir: string;
  let browser: Browser;
  let slowJanus: HoldingProxy;
  const people: Person[] = [];
  const pages: Page[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-media-'));
    // janus-pp-rec that takes its time, so the media service can be killed while a job runs.
    const slowPp = join(stateDir, 'slow-janus-pp-rec');
    writeFileSync(slowPp, '#!/bin/sh\nsleep 1\nexec janus-pp-rec "$@"\n');
    chmodSync(slowPp, 0o755);
    // Janus, as seen by the media service, is slow in two ways: every room takes 1.5 s to create, longer
    // than the sweep interval below (the sweep must not take a room still being opened for one a restart
    // lost: it did, and stopped the recording it had just started), and see holdAnswerMs.
    slowJanus = await startHoldingProxy({
      target: () => stack?.janus && new URL(stack.janus.url).origin,
      holdMs: (body) => (/"request"\s*:\s*"create"/.test(body) ? 1500 : 0),
      // A subscriber's join is answered on Janus's long poll before its POST's own answer comes back:
      // an error there ("no such feed" while the other side has not published) must be a 409, not an
      // unhandled rejection that takes the media service down (it did).
      holdAnswerMs: (body) => (/"ptype"\s*:\s*"subscriber"/.test(body) ? 500 : 0),
    });
    stack = await startStack({
      stateDir,
      services: ['auth', 'user', 'call', 'media', 'signaling', 'gateway'],
      signalingInstances: 1,
      coturn: false,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      serviceEnv: {
        gateway: { HEALTH_CHECK_INTERVAL_MS: '200', RATE_LIMIT_CREDENTIALS_MAX: '500' },
        media: {
          JANUS_PROBE_INTERVAL_MS: '300',
          // Generous on a loaded 2-core machine: a slow answer is not what these tests are about.
          JANUS_TIMEOUT_MS: '10000',
          RECORDING_SWEEP_INTERVAL_MS: '1000',
          RECORDING_JOB_CLAIM_IDLE_MS: '1500',
          JANUS_PP_REC: slowPp,
          JANUS_URL: `${slowJanus.origin}/janus`,
        },
      },
    });
    browser = await launchChromium(stack.tls.spki);
  }, 180_000);

  afterAll(async () => {
    for (const p of people) p.socket.disconnect();
    await browser?.close();
    await stack?.stopAll();
    await slowJanus?.close();
    if (stateDir && !process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  });

  async function person(name: string): Promise<Person> {
    const account = await register(stack.url, name);
    const { socket } = await connect(stack.url, account, 'websocket');
    const p: Person = { ...account, socket, events: [] };
    for (const e of RECORDING_SERVER_EVENTS)
      (socket.on as (e: string, fn: (p: Record<string, unknown>) => void) => void)(e, (payload) =>
        p.events.push({ name: e, payload }),
      );
    people.push(p);
    return p;
  }

  const emit = (socket: ClientSocket, event: string, payload: unknown) =>
    (socket.timeout(20_000).emitWithAck as (e: string, p: unknown) => Promise<{ ok: boolean }>)(
      event,
      payload,
    );

  /** A call answered by `b` (signaling only: the media here is the room's). */
  async function answeredCall(a: Person, b: Person): Promise<string> {
    const created = await call(stack.url, 'POST', '/api/calls', {
      token: a.accessToken,
      body: { calleeId: b.id, media: 'video' },
    });
    expect(created.status, created.text).toBe(201);
    const callId = created.body.callId as string;
    const incoming = new Promise((r) =>
      (b.socket.once as (e: string, f: (x: unknown) => void) => void)('incoming-call', r),
    );
    expect(await emit(a.socket, 'call-user', { callId, offer: { type: 'offer', sdp: 'v=0\r\n' } })).toEqual({
      ok: true,
    });
    await incoming;
    expect(
      await emit(b.socket, 'accept-call', { callId, answer: { type: 'answer', sdp: 'v=0\r\n' } }),
    ).toEqual({
      ok: true,
    });
    return callId;
  }

  const eventOf = (p: Person, name: string, recordingId: string) =>
    until(`${name} for ${recordingId}`, async () =>
      p.events.find((e) => e.name === name && e.payload.recordingId === recordingId),
    );

  /** Asked by `a`, consented by `b`: recording (both saw recording-started). */
  async function startRecording(a: Person, b: Person, callId: string): Promise<string> {
    const asked = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording`, {
      token: a.accessToken,
    });
    expect(asked.status, asked.text).toBe(202);
    const recordingId = asked.body.recordingId as string;
    await eventOf(b, 'recording-requested', recordingId);
    const consented = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording/consent`, {
      token: b.accessToken,
      body: { recordingId, consent: true },
    });
    expect(consented.status, consented.text).toBe(200);
    expect(consented.body.state).toBe('recording');
    await Promise.all([
      eventOf(a, 'recording-started', recordingId),
      eventOf(b, 'recording-started', recordingId),
    ]);
    return recordingId;
  }

  async function mediaThroughRoom(
    pa: Page,
    pb: Page,
    a: Person,
    b: Person,
    callId: string,
    recordingId: string,
  ) {
    expect(await room.publish(pa, a.accessToken, callId, recordingId)).toBe(200);
    // Janus records a publisher from its first packets: about when its connection is up.
    await until('the first side publishing', async () => (await room.pubState(pa)) === 'connected');
    const firstMediaAt = Date.now();
    expect(await room.publish(pb, b.accessToken, callId, recordingId)).toBe(200);
    // Janus offers a feed to subscribers once its publisher's connection is up. On a loaded machine a
    // connection now and then never comes up (ICE/DTLS timing out): publishing again is what a client does.
    for (let attempt = 1; ; attempt++) {
      const up = await until(
        'the second side publishing',
        async () => (await room.pubState(pb)) === 'connected',
        20_000,
      )
        .then(() => true)
        .catch(() => false);
      if (up) break;
      if (attempt === 3)
        throw new Error(`the second side's connection to Janus never came up: ${await room.pubState(pb)}`);
      expect(await room.publish(pb, b.accessToken, callId, recordingId)).toBe(200);
    }
    for (const [page, who] of [
      [pa, a],
      [pb, b],
    ] as const) {
      let last = 0;
      await until(
        'subscribed',
        async () => {
          last = await room.subscribe(page, who.accessToken, callId, recordingId);
          return last === 204;
        },
        60_000,
      ).catch(async (err: Error) => {
        throw new Error(
          `${err.message} (last answer ${last}; publishers ${await room.pubState(pa)}, ${await room.pubState(pb)})`,
        );
      });
    }
    return firstMediaAt;
  }

  const recordingsOf = async (p: Person, callId: string) => {
    const res = await call(stack.url, 'GET', `/api/calls/${callId}`, { token: p.accessToken });
    expect(res.status, res.text).toBe(200);
    return (res.body.recordings ?? []) as Record<string, unknown>[];
  };

  it('records a consented call through Janus; only its participants download the file', async () => {
    const [alice, bob, carol] = await Promise.all([person('Alice'), person('Bob'), person('Carol')]);
    const callId = await answeredCall(alice, bob);
    const recordingId = await startRecording(alice, bob, callId);
    expect(slowJanus.held(), 'the room was created through the slow proxy').toBeGreaterThan(0);
    const [pa, pb] = await Promise.all([openRoomPage(browser, stack.url), openRoomPage(browser, stack.url)]);
    pages.push(pa, pb);
    // The other side's media before anyone has published: 409, twice (the service is still there).
    for (let i = 0; i < 2; i++) expect(await room.subscribe(pa, alice.accessToken, callId, recordingId)).toBe(409);
    const t0 = await mediaThroughRoom(pa, pb, alice, bob, callId, recordingId);
    await until(
      'both publishing',
      async () => (await room.pubState(pa)) === 'connected' && (await room.pubState(pb)) === 'connected',
    );
    // Each side receives the other's media from the room: frames keep coming.
    for (const page of [pa, pb]) {
      const first = await room.inbound(page);
      await until('inbound media from the room', async () => {
        const now = await room.inbound(page);
        return now.video > first.video + 10 && now.audio > first.audio + 10;
      });
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 5000 - (Date.now() - t0))));
    const stopped = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording/stop`, {
      token: alice.accessToken,
      body: { recordingId },
    });
    const recordedMs = Date.now() - t0;
    expect(stopped.status, stopped.text).toBe(200);
    for (const p of [alice, bob])
      expect((await eventOf(p, 'recording-stopped', recordingId)).payload).toMatchObject({
        reason: 'stopped',
        stoppedBy: alice.id,
      });
    await Promise.all([room.close(pa), room.close(pb)]);

    // Ready once post-processed; the call's record shows it.
    const ready = await until(
      'recording ready',
      async () =>
        (await recordingsOf(bob, callId)).find((r) => r.recordingId === recordingId && r.state === 'ready'),
      90_000,
    );
    await eventOf(alice, 'recording-ready', recordingId);
    const file = join(stack.janus!.recordingsDir, 'files', `${recordingId}.webm`);
    expect(existsSync(file)).toBe(true);
    const probed = await ffprobe(file);
    expect(probed.types).toContain('audio');
    expect(probed.types).toContain('video');
    // The file lasts as long as the room recorded: from the first side's media to the stop.
    expect(
      Math.abs(probed.durationMs - recordedMs),
      `${probed.durationMs} ms recorded in ${recordedMs} ms`,
    ).toBeLessThanOrEqual(1000);
    expect(Math.abs((ready.durationMs as number) - probed.durationMs)).toBeLessThanOrEqual(50);
    expect(ready.sizeBytes).toBe(statSync(file).size);

    // Downloads: a participant's link works (Nginx serves the file), a stranger gets no link, a forged
    // or expired signature and the internal location itself are refused.
    const link = await call(stack.url, 'POST', `/api/media/recordings/${recordingId}/link`, {
      token: bob.accessToken,
    });
    expect(link.status, link.text).toBe(200);
    const got = await fetch(`${stack.url}${link.body.url}`);
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('video/webm');
    expect(Buffer.from(await got.arrayBuffer()).length).toBe(statSync(file).size);
    const stranger = await call(stack.url, 'POST', `/api/media/recordings/${recordingId}/link`, {
      token: carol.accessToken,
    });
    expect(stranger.status).toBe(404);
    expect((await call(stack.url, 'GET', `/api/calls/${callId}`, { token: carol.accessToken })).status).toBe(
      404,
    );
    expect(
      (await call(stack.url, 'GET', `/api/media/calls/${callId}/recordings`, { token: carol.accessToken }))
        .status,
    ).toBe(404);
    const forged = (link.body.url as string).replace(
      /sig=(.)/,
      (_m: string, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`,
    );
    expect((await fetch(`${stack.url}${forged}`)).status).toBe(403);
    const expired = (link.body.url as string).replace(/exp=\d+/, `exp=${Date.now() - 1000}`);
    expect((await fetch(`${stack.url}${expired}`)).status).toBe(403);
    expect((await rawGet(stack.url, `/.voip-recordings/${recordingId}.webm`)).status).toBe(404);

    // Deletion by a participant removes the file; the link stops working.
    const del = await call(stack.url, 'DELETE', `/api/media/recordings/${recordingId}`, {
      token: alice.accessToken,
    });
    expect(del.status, del.text).toBe(204);
    expect(existsSync(file)).toBe(false);
    expect((await fetch(`${stack.url}${link.body.url}`)).status).toBe(404);
    await emit(alice.socket, 'end-call', { callId });
  }, 240_000);

  it('refused consent: nothing is recorded and both hear why; a stranger cannot ask or answer', async () => {
    const [dave, erin, frank] = await Promise.all([person('Dave'), person('Erin'), person('Frank')]);
    const callId = await answeredCall(dave, erin);
    // A stranger: the call does not exist for them.
    const strangerAsks = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording`, {
      token: frank.accessToken,
    });
    expect(strangerAsks.status).toBe(404);
    expect(strangerAsks.body.error.code).toBe('CALL_NOT_FOUND');

    const asked = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording`, {
      token: erin.accessToken,
    });
    expect(asked.status, asked.text).toBe(202);
    const recordingId = asked.body.recordingId as string;
    await eventOf(dave, 'recording-requested', recordingId);
    // The asker cannot consent for the other side; a stranger cannot answer at all.
    const self = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording/consent`, {
      token: erin.accessToken,
      body: { recordingId, consent: true },
    });
    expect(self.status).toBe(403);
    const strangerConsents = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording/consent`, {
      token: frank.accessToken,
      body: { recordingId, consent: true },
    });
    expect(strangerConsents.status).toBe(404);
    // A second ask while one is pending: 409.
    const again = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording`, {
      token: dave.accessToken,
    });
    expect(again.status).toBe(409);

    const declined = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording/consent`, {
      token: dave.accessToken,
      body: { recordingId, consent: false },
    });
    expect(declined.status, declined.text).toBe(200);
    expect(declined.body.state).toBe('declined');
    for (const p of [dave, erin])
      expect((await eventOf(p, 'recording-stopped', recordingId)).payload).toMatchObject({
        reason: 'declined',
      });
    expect(dave.events.some((e) => e.name === 'recording-started')).toBe(false);
    expect(frank.events).toEqual([]);
    const [rec] = await recordingsOf(erin, callId);
    expect(rec).toMatchObject({ recordingId, state: 'declined', durationMs: null, sizeBytes: null });
    expect(existsSync(join(stack.janus!.recordingsDir, 'files', `${recordingId}.webm`))).toBe(false);
    // Bad input: a closed schema.
    const bad = await call(stack.url, 'POST', `/api/media/calls/${callId}/recording/consent`, {
      token: dave.accessToken,
      body: { recordingId, consent: 'yes', extra: 1 },
    });
    expect(bad.status).toBe(400);
    await emit(dave.socket, 'end-call', { callId });
  }, 120_000);

  it('Janus killed mid-recording: both hear it, the call goes on, no half-written file is listed', async () => {
    const [gina, hank] = await Promise.all([person('Gina'), person('Hank')]);
    const callId = await answeredCall(gina, hank);
    const recordingId = await startRecording(gina, hank, callId);
    const [pa, pb] = await Promise.all([openRoomPage(browser, stack.url), openRoomPage(browser, stack.url)]);
    pages.push(pa, pb);
    await mediaThroughRoom(pa, pb, gina, hank, callId, recordingId);
    await until('publishing', async () => (await room.pubState(pa)) === 'connected');
    await new Promise((r) => setTimeout(r, 2000));

    await stack.kill('janus');
    for (const p of [gina, hank]) {
      expect((await eventOf(p, 'recording-failed', recordingId)).payload).toMatchObject({
        reason: 'media-server-lost',
      });
      expect((await eventOf(p, 'recording-stopped', recordingId)).payload).toMatchObject({
        reason: 'media-server-lost',
      });
    }
    // The call itself goes on (its media back on the peer-to-peer path).
    const theCall = await call(stack.url, 'GET', `/api/calls/${callId}`, { token: gina.accessToken });
    expect(theCall.body.state).toBe('accepted');
    // While Janus is down, asking is refused with a clear reason.
    await emit(gina.socket, 'end-call', { callId });
    const callId2 = await answeredCall(gina, hank);
    // (The probe runs every 300 ms: it has seen Janus gone by now.)
    await new Promise((r) => setTimeout(r, 1500));
    const refused = await call(stack.url, 'POST', `/api/media/calls/${callId2}/recording`, {
      token: gina.accessToken,
    });
    expect(refused.status, refused.text).toBe(503);
    expect(refused.body.error.details).toEqual({ reason: 'media-server-unavailable' });

    // What Janus had written is post-processed: ready with a readable file, or failed; never ready without one.
    const final = await until(
      'recording settled',
      async () =>
        (await recordingsOf(gina, callId)).find(
          (r) => r.recordingId === recordingId && (r.state === 'ready' || r.state === 'failed'),
        ),
      90_000,
    );
    const file = join(stack.janus!.recordingsDir, 'files', `${recordingId}.webm`);
    if (final.state === 'ready') expect((await ffprobe(file)).types.length).toBeGreaterThan(0);
    else expect(existsSync(file)).toBe(false);
    await Promise.all([room.close(pa), room.close(pb)]);

    await stack.restart('janus');
    await until('asking works again', async () => {
      const r = await call(stack.url, 'POST', `/api/media/calls/${callId2}/recording`, {
        token: gina.accessToken,
      });
      return r.status === 202;
    });
    await emit(gina.socket, 'end-call', { callId: callId2 });
  }, 240_000);

  it('the media service killed during post-processing: the job is taken up again after its restart', async () => {
    const [ivy, jack] = await Promise.all([person('Ivy'), person('Jack')]);
    const callId = await answeredCall(ivy, jack);
    const recordingId = await until(
      'recording starts',
      async () => {
        try {
          return await startRecording(ivy, jack, callId);
        } catch {
          return null;
        }
      },
      60_000,
    );
    const [pa, pb] = await Promise.all([openRoomPage(browser, stack.url), openRoomPage(browser, stack.url)]);
    pages.push(pa, pb);
    await mediaThroughRoom(pa, pb, ivy, jack, callId, recordingId);
    await until(
      'publishing',
      async () => (await room.pubState(pa)) === 'connected' && (await room.pubState(pb)) === 'connected',
    );
    await new Promise((r) => setTimeout(r, 2000));
    // The call ends: the recording stops with it and its job starts.
    expect(await emit(ivy.socket, 'end-call', { callId })).toEqual({ ok: true });
    for (const p of [ivy, jack])
      expect((await eventOf(p, 'recording-stopped', recordingId)).payload).toMatchObject({
        reason: 'call-ended',
      });
    const processing = await until('processing', async () =>
      (await recordingsOf(ivy, callId)).find(
        (r) => r.recordingId === recordingId && r.state === 'processing',
      ),
    );
    expect(processing.state).toBe('processing');
    await stack.kill('media');
    await Promise.all([room.close(pa), room.close(pb)]);
    // Nothing half-done is listed while the service is away.
    expect(existsSync(join(stack.janus!.recordingsDir, 'files', `${recordingId}.webm`))).toBe(false);
    await stack.restart('media');
    const ready = await until(
      'ready after the restart',
      async () =>
        (await recordingsOf(jack, callId)).find((r) => r.recordingId === recordingId && r.state === 'ready'),
      90_000,
    );
    const probed = await ffprobe(join(stack.janus!.recordingsDir, 'files', `${recordingId}.webm`));
    expect(probed.types).toEqual(expect.arrayContaining(['audio', 'video']));
    expect(Math.abs((ready.durationMs as number) - probed.durationMs)).toBeLessThanOrEqual(50);
  }, 240_000);
});
