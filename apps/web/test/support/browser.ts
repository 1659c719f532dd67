// Real headless Chromium (Debian's, driven by playwright-core, which downloads no browser) with fake
// camera and microphone, and the steps a person takes in the demo, for the end-to-end tests.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { CHROMIUM, chromiumArgs } from '@voip/testkit/chromium';

const PASSWORD = 'correct horse battery';
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test-results');

/** `trustSpki`: the stack's `tls.spki` (see @voip/testkit/chromium). */
export async function launchChromium(opts: { trustSpki?: string } = {}): Promise<Browser> {
  // launch() gives every run a fresh, temporary user data dir.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs(opts.trustSpki) });
}

/** Prints what each page logged when the test just run failed (its first thing to read); for `afterEach`. */
export function printLogsOnFailure(people: readonly Person[]) {
  return (ctx: { task: { result?: { state?: string } } }) => {
    if (ctx.task.result?.state === 'fail')
      for (const p of people) if (p.logs.length) process.stderr.write(`[${p.name}]\n${p.logs.join('\n')}\n`);
  };
}

export interface Person {
  context: BrowserContext;
  page: Page;
  name: string;
  username: string;
  /** What the page logged (console errors, page errors), printed when a test fails. */
  logs: string[];
}

/** A new browser context (its own storage: a separate device) with the demo open, nobody signed in yet. */
export async function openPage(
  browser: Browser,
  url: string,
  query = '',
): Promise<Pick<Person, 'context' | 'page' | 'logs'>> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  await context.grantPermissions(['camera', 'microphone'], { origin: url });
  const page = await context.newPage();
  const logs: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') logs.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`${url}/${query}`);
  return { context, page, logs };
}

/**
 * A new browser context with the demo open and signed up through the Register form.
 * `query` is the page's query string, e.g. `?ice=relay` (media through TURN only).
 */
export async function openDemo(browser: Browser, url: string, name: string, query = ''): Promise<Person> {
  const { context, page, logs } = await openPage(browser, url, query);
  const username = `${name.toLowerCase()}${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
  await page.click('[data-tab="register"]');
  await page.fill('#form-register [name="username"]', username);
  await page.fill('#form-register [name="displayName"]', `${name} ${username}`);
  await page.fill('#form-register [name="password"]', PASSWORD);
  await page.click('#form-register button[type="submit"]');
  await page.waitForSelector('#home:not([hidden])');
  await waitForConnection(page, 'connected');
  return { context, page, name: `${name} ${username}`, username, logs };
}

/** Signs in again through the Sign in form (after signing out). */
export async function signIn(p: Person): Promise<void> {
  await p.page.click('[data-tab="login"]');
  await p.page.fill('#form-login [name="username"]', p.username);
  await p.page.fill('#form-login [name="password"]', PASSWORD);
  await p.page.click('#form-login button[type="submit"]');
  await p.page.waitForSelector('#home:not([hidden])');
}

export async function waitForConnection(page: Page, state: string, timeout = 30_000): Promise<void> {
  await page.waitForSelector(`[data-test="connection"][data-state="${state}"]`, { timeout });
}

/** Finds `other` by name and adds them as a contact (their profile appears once the bus delivered it). */
export async function addContact(me: Person, other: Person): Promise<void> {
  await expect
    .poll(
      async () => {
        await me.page.fill('#search [name="q"]', other.name);
        await me.page.click('#search button');
        return me.page.locator('[data-test="add-contact"]').count();
      },
      { timeout: 15_000, interval: 500 },
    )
    .toBe(1);
  await me.page.click('[data-test="add-contact"]');
  await me.page.waitForSelector(`[data-test="contact"] >> text=${other.name}`);
}

export const pcState = (p: Person) =>
  p.page.evaluate(() =>
    (
      window as unknown as { voipDemo: { peerConnectionState(): string | null } }
    ).voipDemo.peerConnectionState(),
  );

export interface Inbound {
  kind: string;
  packetsReceived: number;
  framesDecoded: number;
}
export const inbound = (p: Person) =>
  p.page.evaluate(() =>
    (window as unknown as { voipDemo: { inboundStats(): Promise<Inbound[]> } }).voipDemo.inboundStats(),
  );

/** Inbound audio packets and video frames keep growing: media really flows into this page. */
export async function expectMediaFlowing(p: Person, withVideo: boolean): Promise<void> {
  const total = (stats: Inbound[], kind: string, key: 'packetsReceived' | 'framesDecoded') =>
    stats.filter((s) => s.kind === kind).reduce((n, s) => n + s[key], 0);
  const first = await inbound(p);
  await expect
    .poll(
      async () => {
        const now = await inbound(p);
        return {
          audio: total(now, 'audio', 'packetsReceived') > total(first, 'audio', 'packetsReceived'),
          video: !withVideo || total(now, 'video', 'framesDecoded') > total(first, 'video', 'framesDecoded'),
        };
      },
      { timeout: 20_000, interval: 500 },
    )
    .toEqual({ audio: true, video: true });
}

export interface CandidatePair {
  state: string;
  local: { candidateType: string; protocol: string; relayProtocol?: string; address: string; port: number };
  remote: { candidateType: string; protocol: string; address: string; port: number };
}
/** The ICE candidate pair the page's peer connection uses now (getStats). */
export const selectedCandidatePair = (p: Person) =>
  p.page.evaluate(() =>
    (
      window as unknown as { voipDemo: { selectedCandidatePair(): Promise<CandidatePair | null> } }
    ).voipDemo.selectedCandidatePair(),
  );
export const rtcConfig = (p: Person) =>
  p.page.evaluate(() =>
    (window as unknown as { voipDemo: { rtcConfig(): RTCConfiguration | null } }).voipDemo.rtcConfig(),
  );

export const events = (p: Person) =>
  p.page.evaluate(() =>
    (
      window as unknown as { voipDemo: { events: { event: string; detail?: unknown }[] } }
    ).voipDemo.events.map((e) => e.event),
  );

export interface LocalTrack {
  kind: string;
  enabled: boolean;
  readyState: string;
  /** The peer connection sends this very track. */
  sent: boolean;
}
/** The current call's local tracks, as the page holds them. */
export const localTracks = (p: Person) =>
  p.page.evaluate(() =>
    (window as unknown as { voipDemo: { localTracks(): LocalTrack[] } }).voipDemo.localTracks(),
  );

export const activeCallId = (p: Person) =>
  p.page.evaluate(
    () => (window as unknown as { voipDemo: { call(): { id: string } | null } }).voipDemo.call()?.id ?? null,
  );

export async function screenshot(p: Person, file: string): Promise<string> {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = join(RESULTS_DIR, file);
  await p.page.screenshot({ path, fullPage: true });
  return path;
}

/** Waits until the gateway routes to auth, user and call (an anonymous request gets no 502/503). */
export async function untilApiAnswers(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const path of ['/api/auth/me', '/api/users/me', '/api/calls']) {
    for (;;) {
      const res = await fetch(url + path).catch(() => null);
      if (res && res.status !== 502 && res.status !== 503) break;
      if (Date.now() > deadline) throw new Error(`${path} still unavailable through ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
