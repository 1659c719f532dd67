// Issue 19 in a real browser: two Chromium pages make real calls with the SDK's quality sampling on
// (`?quality=fast`: a sample a second, a summary every 3 s). The summaries each side sends are valid
// `call-quality` payloads (the contract's closed schema) with non-zero bitrates, the right path (direct,
// or relayed by coturn), increasing seq and a final one from both sides at hang-up, all acked by
// signaling; the call's record (GET /api/calls/:id) then has both sides' final summaries with that path.
// The WebView bundle does the same (VoipUtils.quality(), peer-quality through AndroidVoip.onEvent). A
// caller whose TURN/TCP path runs through a bandwidth-limited Toxiproxy steps its sending down, and back
// up once the limit is lifted; its summaries carry the step and the callee's page learns it
// (`peer-quality`) and shows "poor connection".
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallQualityPayload } from '@voip/contracts/quality';
import { validator } from '@voip/contracts/validate';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activeCallId,
  addContact,
  expectMediaFlowing,
  launchChromium,
  printLogsOnFailure,
  openDemo,
  type Person,
  pcState,
  screenshot,
  untilApiAnswers,
} from './support/browser.js';
import { startTcpFaultProxy, type TcpFaultProxy } from './support/toxiproxy.js';

type Report = { payload: CallQualityPayload; ok: boolean; error?: string };
type Logged = { at: number; event: string; detail?: unknown };
const validPayload = validator(CallQualityPayload);

const logged = (p: Person, name: string) =>
  p.page.evaluate(
    (n) =>
      (window as unknown as { voipDemo: { events: Logged[] } }).voipDemo.events
        .filter((e) => e.event === n)
        .map((e) => e.detail),
    name,
  );
const reports = async (p: Person) => (await logged(p, 'quality-report')) as Report[];

/** A step that sends video (not audio-only). */
const VIDEO_STEP = /^(1080p|720p|480p)$/;

describe('call quality in headless Chromium', () => {
  let stack: Stack;
  let stateDir: string;
  let browser: Browser;
  let proxy: TcpFaultProxy | undefined;
  const people: Person[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-quality-'));
    stack = await startStack({
      stateDir,
      coturn: true,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      serviceEnv: { gateway: { HEALTH_CHECK_INTERVAL_MS: '200' } },
    });
    await untilApiAnswers(stack.url);
    browser = await launchChromium({ trustSpki: stack.tls.spki });
  });

  afterEach(printLogsOnFailure(people));

  afterAll(async () => {
    await browser?.close();
    await proxy?.stop();
    await stack?.stopAll();
    if (stateDir && !process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  });

  async function call(caller: Person, callee: Person, media: 'audio' | 'video'): Promise<string> {
    people.push(caller, callee);
    await addContact(caller, callee);
    await caller.page.click(`[data-test="contact"]:has-text("${callee.name}") [data-test="call-${media}"]`);
    await callee.page.waitForSelector('[data-test="incoming"]:not([hidden])', { timeout: 15_000 });
    await callee.page.click('[data-test="accept"]');
    for (const p of [caller, callee])
      await expect.poll(() => pcState(p), { timeout: 30_000, interval: 250 }).toBe('connected');
    return (await activeCallId(caller))!;
  }

  /** Until the page has had `n` summaries taken by the server. */
  const untilReported = (p: Person, n: number) =>
    expect
      .poll(async () => (await reports(p)).filter((r) => r.ok).length, { timeout: 30_000, interval: 500 })
      .toBeGreaterThanOrEqual(n);

  /** Hangs up from `who`; both pages see the end; returns each side's summaries. */
  async function hangUp(who: Person, other: Person): Promise<[Report[], Report[]]> {
    await who.page.click('[data-test="hang-up"]');
    for (const p of [who, other])
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
    // The side that did not hang up sends its final summary right after call-ended.
    for (const p of [who, other])
      await expect
        .poll(async () => (await reports(p)).some((r) => r.payload.final), { timeout: 10_000 })
        .toBe(true);
    return [await reports(who), await reports(other)];
  }

  function expectSummaries(list: Report[], opts: { path: 'direct' | 'relay'; video: boolean }): void {
    expect(list.length).toBeGreaterThanOrEqual(2);
    for (const r of list) expect(validPayload.check(r.payload), validPayload.explain(r.payload)).toBe(true);
    // Taken by the server (the call is the device's own), the final one too.
    expect(list.filter((r) => !r.ok)).toEqual([]);
    const seqs = list.map((r) => r.payload.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const final = list.at(-1)!.payload;
    expect(final.final).toBe(true);
    const mid = list.find((r) => !r.payload.final && r.payload.bitrateKbps)!.payload;
    expect(mid.bitrateKbps!.audioIn).toBeGreaterThan(0);
    expect(mid.bitrateKbps!.audioOut).toBeGreaterThan(0);
    if (opts.video) {
      expect(mid.bitrateKbps!.videoIn).toBeGreaterThan(0);
      expect(mid.bitrateKbps!.videoOut).toBeGreaterThan(0);
      expect(mid.framesDecoded).toBeGreaterThan(0);
    }
    expect(mid.rttMs).toBeGreaterThanOrEqual(0);
    expect(mid.timeToMediaMs).toBeGreaterThanOrEqual(0);
    const relayed = mid.path!.local === 'relay' || mid.path!.remote === 'relay';
    expect(relayed ? 'relay' : 'direct').toBe(opts.path);
  }

  type Side = {
    path: string | null;
    final: boolean;
    samples: number;
    bitrateKbps: Record<string, number | null>;
  };
  const record = (p: Person, callId: string) =>
    p.page.evaluate(
      (id) =>
        (
          window as unknown as { voipDemo: { client: { calls: { get(id: string): Promise<unknown> } } } }
        ).voipDemo.client.calls.get(id),
      callId,
    ) as Promise<{ quality?: { caller?: Side; callee?: Side } }>;

  /** GET /api/calls/:id (as a participant) ends up with both sides' final summaries. */
  async function expectRecorded(p: Person, callId: string, path: 'direct' | 'relay', video: boolean) {
    // Written from the call-events stream a moment after the summaries were acked.
    await expect
      .poll(
        async () => {
          const q = (await record(p, callId)).quality;
          return [q?.caller?.final, q?.callee?.final];
        },
        { timeout: 15_000, interval: 500 },
      )
      .toEqual([true, true]);
    const q = (await record(p, callId)).quality!;
    for (const side of ['caller', 'callee'] as const) {
      const s = q[side]!;
      expect(s.path, side).toBe(path);
      expect(s.samples, side).toBeGreaterThanOrEqual(2);
      expect(s.bitrateKbps.audioOut, side).toBeGreaterThan(0);
      expect(s.bitrateKbps.audioIn, side).toBeGreaterThan(0);
      if (video) {
        expect(s.bitrateKbps.videoOut, side).toBeGreaterThan(0);
        expect(s.bitrateKbps.videoIn, side).toBeGreaterThan(0);
      }
    }
  }

  it('a direct video call: both sides send summaries with bitrates and a direct path; the record has both', async () => {
    const [ann, ben] = await Promise.all([
      openDemo(browser, stack.url, 'Ann', '?quality=fast'),
      openDemo(browser, stack.url, 'Ben', '?quality=fast'),
    ]);
    const callId = await call(ann, ben, 'video');
    await Promise.all([expectMediaFlowing(ann, true), expectMediaFlowing(ben, true)]);
    await Promise.all([untilReported(ann, 2), untilReported(ben, 2)]);
    // The demo shows the sending step and the path. The step is a video one; which depends on Chromium's
    // bandwidth estimate for a fake camera that sends ~450 kbit/s (a loaded machine may not probe it
    // past 1080p's 1500): the adaptation itself is tested in packages/client and below.
    const line = ann.page.locator('[data-test="call-quality"]');
    expect(await line.getAttribute('data-path')).toBe('direct');
    expect(await line.getAttribute('data-step')).toMatch(VIDEO_STEP);
    await screenshot(ann, 'quality-direct.png');
    const [annSent, benSent] = await hangUp(ann, ben);
    expectSummaries(annSent, { path: 'direct', video: true });
    expectSummaries(benSent, { path: 'direct', video: true });
    expect(annSent[0]!.payload.callId).toBe(callId);
    await expectRecorded(ben, callId, 'direct', true);
  });

  it('a call forced through coturn (iceTransportPolicy relay): summaries and the record say relay', async () => {
    const [cay, dan] = await Promise.all([
      openDemo(browser, stack.url, 'Cay', '?ice=relay&quality=fast'),
      openDemo(browser, stack.url, 'Dan', '?ice=relay&quality=fast'),
    ]);
    const callId = await call(cay, dan, 'audio');
    await Promise.all([untilReported(cay, 2), untilReported(dan, 2)]);
    const [danSent, cagSent] = await hangUp(dan, cay);
    expectSummaries(cagSent, { path: 'relay', video: false });
    expectSummaries(danSent, { path: 'relay', video: false });
    // Reached over TURN/UDP (the first URL the call service gives).
    expect(cagSent.find((r) => r.payload.path)!.payload.path!.relayProtocol).toBe('udp');
    expect(danSent[0]!.payload.callId).toBe(callId);
    await expectRecorded(cay, callId, 'relay', false);
  });

  it('the WebView bundle samples too: VoipUtils.quality(), peer-quality to the native bridge, both sides recorded', async () => {
    type Api = {
      AndroidVoip: { onEvent(n: string, j: string): void };
      bridged: { name: string; payload: unknown }[];
      connectAsGuest(url: string, name: string, o: object): { ready: Promise<{ guestId: string }> };
      VoipUtils: {
        isConnected(): boolean;
        startCall(id: string, media: string): Promise<string>;
        acceptCall(): Promise<void>;
        hangUp(): Promise<void>;
        quality(): { step: string | null; path: { kind: string } | null; audioOutKbps: number } | null;
        client(): { calls: { get(id: string): Promise<unknown> } };
      };
    };
    const open = async (name: string) => {
      const context = await browser.newContext();
      await context.grantPermissions(['camera', 'microphone'], { origin: stack.url });
      const page = await context.newPage();
      await page.addInitScript(() => {
        const w = window as unknown as Api;
        w.bridged = [];
        w.AndroidVoip = { onEvent: (n, json) => w.bridged.push({ name: n, payload: JSON.parse(json) }) };
      });
      await page.goto(`${stack.url}/webview.html`);
      const guestId = await page.evaluate(
        async (n) =>
          (
            await (window as unknown as Api).connectAsGuest(location.origin, n, {
              quality: { sampleIntervalMs: 1000, reportIntervalMs: 2000 },
            }).ready
          ).guestId,
        name,
      );
      await expect
        .poll(() => page.evaluate(() => (window as unknown as Api).VoipUtils.isConnected()), {
          timeout: 15_000,
        })
        .toBe(true);
      return { context, page, guestId };
    };
    const bridged = (page: Awaited<ReturnType<typeof open>>['page'], name: string) =>
      page.evaluate(
        (n) => (window as unknown as Api).bridged.filter((e) => e.name === n).map((e) => e.payload),
        name,
      );
    const [a, b] = await Promise.all([open('Web Q1'), open('Web Q2')]);
    const callId = await a.page.evaluate(
      (id) => (window as unknown as Api).VoipUtils.startCall(id, 'video'),
      b.guestId,
    );
    await expect
      .poll(async () => (await bridged(b.page, 'incoming-call')).length, { timeout: 15_000 })
      .toBe(1);
    await b.page.evaluate(() => (window as unknown as Api).VoipUtils.acceptCall());
    for (const p of [a, b]) {
      await expect
        .poll(
          () => p.page.evaluate(() => (window as unknown as Api).VoipUtils.quality()?.audioOutKbps ?? 0),
          {
            timeout: 30_000,
            interval: 500,
          },
        )
        .toBeGreaterThan(0);
      const q = await p.page.evaluate(() => (window as unknown as Api).VoipUtils.quality());
      expect(q).toMatchObject({ step: expect.stringMatching(VIDEO_STEP), path: { kind: 'direct' } });
    }
    // The first summary with a step reaches the other side as peer-quality, through AndroidVoip.onEvent.
    await expect
      .poll(() => bridged(b.page, 'peer-quality'), { timeout: 15_000 })
      .toContainEqual({ callId, step: expect.stringMatching(VIDEO_STEP), poor: false });
    await a.page.evaluate(() => (window as unknown as Api).VoipUtils.hangUp());
    await expect.poll(async () => (await bridged(b.page, 'call-ended')).length, { timeout: 10_000 }).toBe(1);
    await expect
      .poll(
        async () => {
          const rec = (await a.page.evaluate(
            (id) => (window as unknown as Api).VoipUtils.client().calls.get(id),
            callId,
          )) as { quality?: { caller?: Side; callee?: Side } };
          return [rec.quality?.caller?.final, rec.quality?.callee?.final, rec.quality?.caller?.path];
        },
        { timeout: 15_000, interval: 500 },
      )
      .toEqual([true, true, 'direct']);
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('a bandwidth-limited TURN path makes the sender step down, and up again when lifted', async () => {
    proxy = await startTcpFaultProxy(stack.turn!.port, stateDir);
    const port = proxy.port;
    // The caller reaches coturn only over TCP through the proxy: its ICE servers are rewritten to it.
    // Two steps whose thresholds the fake camera (~450 kbit/s of a simple pattern) can climb: Chromium's
    // bandwidth estimate stays within ~1.5× of what an encoder capped at 400 kbit/s sends.
    const adapt = encodeURIComponent(
      JSON.stringify({
        steps: [
          { name: '720p', height: 720, maxKbps: 1500, minKbps: 450 },
          { name: '480p', height: 480, maxKbps: 400, minKbps: 0 },
        ],
        downAfter: 2,
        upAfter: 3,
      }),
    );
    const eve = await openDemo(browser, stack.url, 'Eve', `?ice=relay&quality=fast&adapt=${adapt}`);
    await eve.page.addInitScript((proxyPort: number) => {
      const Native = window.RTCPeerConnection;
      const viaProxy = (config?: RTCConfiguration): RTCConfiguration => ({
        ...config,
        iceServers: (config?.iceServers ?? []).flatMap((s) => {
          const urls = [s.urls]
            .flat()
            .filter((u) => u.startsWith('turn:') && u.includes('transport=tcp'))
            .map((u) => u.replace(/:\d+\?/, `:${proxyPort}?`));
          return urls.length ? [{ ...s, urls }] : [];
        }),
      });
      class ThroughProxy extends Native {
        constructor(config?: RTCConfiguration) {
          super(viaProxy(config));
        }
      }
      window.RTCPeerConnection = ThroughProxy;
    }, port);
    await eve.page.reload();
    await eve.page.waitForSelector('#home:not([hidden])');
    const fay = await openDemo(browser, stack.url, 'Fay', '?quality=fast');
    await call(eve, fay, 'video');
    await expectMediaFlowing(fay, true);
    const sample = () =>
      eve.page.evaluate(() =>
        (window as unknown as { voipDemo: { qualityStep(): string | null } }).voipDemo.qualityStep(),
      );
    await expect.poll(sample, { timeout: 20_000 }).toBe('720p');

    // ~320 kbit/s from the caller to coturn.
    await proxy.add({ name: 'narrow', type: 'bandwidth', stream: 'upstream', attributes: { rate: 40 } });
    await expect.poll(sample, { timeout: 30_000, interval: 500 }).toBe('480p');
    const lowered = await sample();
    // The summary that followed the change carries the lowered step (signaling tells the peer from it).
    await expect
      .poll(async () => (await reports(eve)).map((r) => r.payload.step), { timeout: 10_000 })
      .toContain(lowered);
    // The callee's page was told (peer-quality) and says so.
    await expect
      .poll(async () => ((await logged(fay, 'peer-quality')) as { step: string }[]).map((q) => q.step), {
        timeout: 15_000,
      })
      .toContain(lowered);
    const line = fay.page.locator('[data-test="call-quality"]');
    expect(await line.getAttribute('data-peer-step')).toBe('480p');
    expect(await line.getAttribute('data-peer-poor')).toBe('true');
    await screenshot(fay, 'quality-peer-lowered.png');

    await proxy.remove('narrow');
    await expect.poll(sample, { timeout: 40_000, interval: 500 }).toBe('720p');
    await expect
      .poll(async () => ((await logged(fay, 'peer-quality')) as { step: string }[]).at(-1)?.step, {
        timeout: 15_000,
      })
      .toBe('720p');
    expect(await line.getAttribute('data-peer-step')).toBe('720p');
    const steps = (await logged(eve, 'quality-step')) as { direction: string }[];
    expect(steps.some((s) => s.direction === 'down')).toBe(true);
    expect(steps.at(-1)?.direction).toBe('up');
    await hangUp(eve, fay);
  });
});
