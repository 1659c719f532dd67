// Issue 18 in the demo, in real headless Chromium through Nginx with a real Janus: a video call, one side
// asks to record, the other consents, both show the indicator, the media switches to the call's room on
// the media server without hanging up (inbound video frames keep increasing across the switch), and
// after 5 s the recording stops: both go back to peer-to-peer, and the file is there to download.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { type HoldingProxy, startHoldingProxy } from '@voip/testkit/holding-proxy';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activeCallId,
  addContact,
  inbound,
  launchChromium,
  printLogsOnFailure,
  openDemo,
  type Person,
  pcState,
  untilApiAnswers,
} from './support/browser.js';

const run = promisify(execFile);
const videoFrames = async (p: Person) =>
  (await inbound(p)).filter((s) => s.kind === 'video').reduce((n, s) => n + s.framesDecoded, 0);
const demo = <T>(p: Person, fn: string) =>
  p.page.evaluate((f) => (window as unknown as { voipDemo: Record<string, () => T> }).voipDemo[f]!(), fn);

describe('recording a call in the demo', () => {
  let stack: Stack;
  let stateDir: string;
  let browser: Browser;
  let slowJanus: HoldingProxy;
  const people: Person[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-web-rec-'));
    // The first publish to Janus is held 6 s, past the media service's Janus timeout (5 s): that side's
    // publish is answered 503 "try again", and the demo tries again (it once gave up there).
    let publishes = 0;
    slowJanus = await startHoldingProxy({
      target: () => stack?.janus && new URL(stack.janus.url).origin,
      holdMs: (body) => (/"request"\s*:\s*"publish"/.test(body) && publishes++ === 0 ? 6000 : 0),
    });
    stack = await startStack({
      stateDir,
      services: ['auth', 'user', 'call', 'media', 'signaling', 'gateway'],
      signalingInstances: 1,
      coturn: false,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      serviceEnv: {
        gateway: { HEALTH_CHECK_INTERVAL_MS: '200', RATE_LIMIT_CREDENTIALS_MAX: '500' },
        media: { JANUS_URL: `${slowJanus.origin}/janus`, JANUS_TIMEOUT_MS: '5000' },
      },
    });
    await untilApiAnswers(stack.url);
    browser = await launchChromium({ trustSpki: stack.tls.spki });
  }, 180_000);

  afterEach(printLogsOnFailure(people));

  afterAll(async () => {
    await browser?.close();
    await stack?.stopAll();
    await slowJanus?.close();
    if (stateDir && !process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  });

  it('asks, consents, switches the media to Janus without hanging up, stops after 5 s, offers the file', async () => {
    const [alice, bob] = await Promise.all([
      openDemo(browser, stack.url, 'Alice'),
      openDemo(browser, stack.url, 'Bob'),
    ]);
    people.push(alice, bob);
    await addContact(alice, bob);
    await alice.page.click(`[data-test="contact"]:has-text("${bob.name}") [data-test="call-video"]`);
    await bob.page.waitForSelector('[data-test="incoming"]:not([hidden])', { timeout: 15_000 });
    await bob.page.click('[data-test="accept"]');
    for (const p of [alice, bob]) await expect.poll(() => pcState(p), { timeout: 30_000 }).toBe('connected');
    const callId = await activeCallId(alice);
    const before = await Promise.all([videoFrames(alice), videoFrames(bob)]);
    await expect.poll(() => videoFrames(bob), { timeout: 20_000 }).toBeGreaterThan(before[1]!);

    // Alice asks; Bob is asked and consents; both show the indicator.
    await alice.page.waitForSelector('[data-test="record"]:not([disabled])');
    await alice.page.click('[data-test="record"]');
    await bob.page.waitForSelector('[data-test="recording-consent"]:not([hidden])', { timeout: 15_000 });
    expect(await alice.page.isVisible('[data-test="recording-consent"]')).toBe(false);
    await bob.page.click('[data-test="recording-accept"]');
    for (const p of [alice, bob])
      await p.page.waitForSelector('[data-test="recording-indicator"]:not([hidden])', { timeout: 15_000 });

    // The media goes through the room: its connection is up, and video frames keep increasing across the
    // switch (sampled all along; the peer-to-peer senders pause once the room's media arrives).
    for (const p of [alice, bob])
      await expect
        .poll(() => demo<string | null>(p, 'recordingConnectionState'), { timeout: 30_000 })
        .toBe('connected');
    expect(slowJanus.held(), 'one publish was held past the Janus timeout').toBe(1);
    const startedAt = Date.now();
    let last = [await videoFrames(alice), await videoFrames(bob)];
    while (Date.now() - startedAt < 5000) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = [await videoFrames(alice), await videoFrames(bob)];
      expect(now[0], 'alice inbound video frames').toBeGreaterThan(last[0]!);
      expect(now[1], 'bob inbound video frames').toBeGreaterThan(last[1]!);
      last = now;
    }
    // The call was never hung up.
    expect(await activeCallId(bob)).toBe(callId);
    expect(await pcState(alice)).toBe('connected');

    await alice.page.click('[data-test="record"]');
    for (const p of [alice, bob])
      await p.page.waitForSelector('[data-test="recording-indicator"][hidden]', {
        state: 'attached',
        timeout: 15_000,
      });
    // Back to peer-to-peer: frames still come.
    const after = await videoFrames(bob);
    await expect.poll(() => videoFrames(bob), { timeout: 20_000 }).toBeGreaterThan(after);

    // The file: ready, downloadable by the participants, with audio and video.
    for (const p of [alice, bob])
      await p.page.waitForSelector('#recording-download:not([hidden])', { timeout: 90_000 });
    const recordingId = await demo<string>(alice, 'recordingId');
    const file = join(stack.janus!.recordingsDir, 'files', `${recordingId}.webm`);
    const { stdout } = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_type',
      '-of',
      'csv=p=0',
      file,
    ]);
    expect(stdout).toContain('audio');
    expect(stdout).toContain('video');
    const status = await bob.page.evaluate(async (id) => {
      const c = (
        window as unknown as {
          voipDemo: { client: { recordings: { link(id: string): Promise<{ url: string }> } } };
        }
      ).voipDemo.client;
      const link = await c.recordings.link(id);
      return (await fetch(link.url)).status;
    }, recordingId);
    expect(status).toBe(200);
  }, 240_000);
});
