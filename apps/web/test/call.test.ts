// Issue 6's acceptance, in a real browser: two Chromium pages load the demo through Nginx, sign up, one
// calls the other, media flows both ways over real RTCPeerConnections (fake camera and microphone), the
// call ends for both and lands in the history; and a call survives the caller's network going away.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  activeCallId,
  addContact,
  events,
  expectMediaFlowing,
  launchChromium,
  printLogsOnFailure,
  localTracks,
  openDemo,
  openPage,
  type Person,
  pcState,
  rtcConfig,
  screenshot,
  selectedCandidatePair,
  signIn,
  untilApiAnswers,
  waitForConnection,
} from './support/browser.js';

describe('the demo in headless Chromium, through Nginx', () => {
  let stack: Stack;
  let stateDir: string;
  let browser: Browser;
  const people: Person[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-web-'));
    stack = await startStack({
      stateDir,
      signalingInstances: 2,
      // The relayed-call test needs the stack's coturn (loopback peers allowed in its dev config).
      coturn: true,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      // The gateway may first see its upstreams down (they start together): let it notice them up soon.
      // Every page signs up or in from one loopback address: more than the 20 credential requests a
      // minute one address gets in production.
      serviceEnv: { gateway: { HEALTH_CHECK_INTERVAL_MS: '200', RATE_LIMIT_CREDENTIALS_MAX: '500' } },
    });
    await untilApiAnswers(stack.url);
    browser = await launchChromium({ trustSpki: stack.tls.spki });
  });

  afterEach(printLogsOnFailure(people));

  afterAll(async () => {
    await browser?.close();
    await stack?.stopAll();
    if (stateDir && !process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  });

  async function twoPeople(a: string, b: string, query = ''): Promise<[Person, Person]> {
    const pair = await Promise.all([
      openDemo(browser, stack.url, a, query),
      openDemo(browser, stack.url, b, query),
    ]);
    people.push(...pair);
    return pair;
  }

  /** `caller` calls `callee` from the contact list; `callee` accepts; both peer connections connect. */
  async function connectedCall(caller: Person, callee: Person, media: 'audio' | 'video'): Promise<string> {
    await addContact(caller, callee);
    await caller.page.click(`[data-test="contact"]:has-text("${callee.name}") [data-test="call-${media}"]`);
    await callee.page.waitForSelector('[data-test="incoming"]:not([hidden])', { timeout: 15_000 });
    expect(await callee.page.textContent('#incoming-text')).toContain(caller.name);
    expect(await caller.page.isVisible('[data-test="incoming"]')).toBe(false);
    await callee.page.click('[data-test="accept"]');
    for (const p of [caller, callee]) {
      await expect.poll(() => pcState(p), { timeout: 30_000, interval: 250 }).toBe('connected');
      expect(await p.page.isVisible('[data-test="incoming"]')).toBe(false);
      await p.page.waitForSelector('[data-test="call-status"][data-status="accepted"]');
    }
    const callId = await activeCallId(caller);
    expect(callId).toBeTruthy();
    expect(await activeCallId(callee)).toBe(callId);
    return callId!;
  }

  it('serves the built demo at /', () => {
    // Nginx serves apps/web/dist when it exists: the test would otherwise run against a stale page.
    expect(existsSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'app.js'))).toBe(true);
  });

  it('calls with video: both peer connections connect, media flows, hang-up ends it for both, history says answered', async () => {
    const [alice, bob] = await twoPeople('Alice', 'Bob');
    const callId = await connectedCall(alice, bob, 'video');
    await Promise.all([expectMediaFlowing(alice, true), expectMediaFlowing(bob, true)]);
    await screenshot(alice, 'call-caller.png');
    await screenshot(bob, 'call-callee.png');

    await alice.page.click('[data-test="hang-up"]');
    for (const p of [alice, bob]) {
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
      expect(await p.page.getAttribute('[data-test="call-status"]', 'data-end-reason')).toBe('hangup');
      expect(await pcState(p)).not.toBe('connected');
    }
    for (const p of [alice, bob]) {
      const row = p.page.locator(`[data-test="history-item"][data-call-id="${callId}"]`);
      await row.waitFor({ timeout: 20_000 });
      expect(await row.getAttribute('data-outcome')).toBe('answered');
      expect(Number(await row.getAttribute('data-duration-ms'))).toBeGreaterThan(0);
    }
    await screenshot(alice, 'history-caller.png');
  });

  it('relays a call through the stack’s coturn when both pages allow only relay candidates', async () => {
    // Without coturn there would be no relay candidate at all: the call could not connect.
    expect(stack.turn).toMatchObject({ port: expect.any(Number) });
    const [erin, frank] = await twoPeople('Erin', 'Frank', '?ice=relay');
    await connectedCall(erin, frank, 'audio');
    for (const p of [erin, frank]) expect(await rtcConfig(p)).toMatchObject({ iceTransportPolicy: 'relay' });
    await Promise.all([expectMediaFlowing(erin, false), expectMediaFlowing(frank, false)]);
    for (const p of [erin, frank]) {
      const pair = await selectedCandidatePair(p);
      // Both ends are relayed addresses on the stack's coturn (relay-ip 127.0.0.1 in turnserver.dev.conf).
      expect(pair, p.name).toMatchObject({
        state: 'succeeded',
        local: { candidateType: 'relay', address: '127.0.0.1' },
        remote: { candidateType: 'relay', address: '127.0.0.1' },
      });
    }
    await frank.page.click('[data-test="hang-up"]');
    for (const p of [erin, frank])
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
  });

  it('relays a call through turns: (TURN over TLS) with the demo on HTTPS and signaling on WSS', async () => {
    // The public door is HTTPS only (plain HTTP redirects), so the page and its socket are TLS.
    expect(stack.url).toMatch(/^https:\/\/localhost:/);
    const redirect = await fetch(`${stack.httpUrl}/`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, `${stack.url}/`]);
    const [gina, hank] = await twoPeople('Gina', 'Hank', '?ice=relay-tls');
    await connectedCall(gina, hank, 'audio');
    for (const p of [gina, hank]) {
      expect(p.page.url()).toMatch(/^https:/);
      // Only the turns: URL the call service hands out (TURNS_URLS) is left: no UDP or TCP TURN to fall back on.
      const urls = ((await rtcConfig(p))?.iceServers ?? []).flatMap((s) => [s.urls].flat());
      expect(urls).toEqual([`turns:localhost:${stack.turn!.tlsPort}?transport=tcp`]);
    }
    await Promise.all([expectMediaFlowing(gina, false), expectMediaFlowing(hank, false)]);
    for (const p of [gina, hank]) {
      const pair = await selectedCandidatePair(p);
      // This end reaches coturn over TLS (its relay candidate was allocated through turns:).
      expect(pair, p.name).toMatchObject({
        state: 'succeeded',
        local: { candidateType: 'relay', relayProtocol: 'tls', address: '127.0.0.1' },
        remote: { candidateType: 'relay', address: '127.0.0.1' },
      });
    }
    await hank.page.click('[data-test="hang-up"]');
    for (const p of [gina, hank])
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
    // Signaling went over WebSocket through the HTTPS server (the only one that proxies /socket.io/):
    // Nginx logs a WebSocket when it closes, so close Gina's page and read the access log.
    await gina.context.close();
    await expect
      .poll(() => readFileSync(join(stateDir, 'logs', 'nginx-access.log'), 'utf8'), { timeout: 10_000 })
      .toMatch(/"GET \/socket\.io\/\?[^"]*transport=websocket[^"]* HTTP\/1\.1" 101 /);
  });

  it('signs in as a guest from the form: the header names the guest, signaling connects as a guest', async () => {
    const { context, page, logs } = await openPage(browser, stack.url);
    const name = `Gina ${Date.now().toString(36)}`;
    people.push({ context, page, name, username: '', logs });
    // The Guest tab is the default one: no tab to click.
    await page.waitForSelector('[data-test="sign-in"]:not([hidden]) #form-guest:not([hidden])');
    await page.fill('#form-guest [name="displayName"]', name);
    await page.click('#form-guest button[type="submit"]');
    await page.waitForSelector('#home:not([hidden])');
    await waitForConnection(page, 'connected');
    expect(await page.isVisible('[data-test="sign-in"]')).toBe(false);
    expect(await page.textContent('[data-test="me"]')).toBe(`${name} (guest)`);
    const shownId = await page.textContent('[data-test="my-id"]');
    // Who the server thinks the page is: a guest with that id and name.
    const me = await page.evaluate(() =>
      (
        window as unknown as { voipDemo: { client: { auth: { me(): Promise<unknown> } } } }
      ).voipDemo.client.auth.me(),
    );
    expect(me).toMatchObject({ id: shownId, kind: 'guest', displayName: name });
    await context.close();
  });

  it('the callee rejects from the prompt: the caller sees the call declined, both histories say rejected', async () => {
    const [hana, ivan] = await twoPeople('Hana', 'Ivan');
    await addContact(hana, ivan);
    await hana.page.click(`[data-test="contact"]:has-text("${ivan.name}") [data-test="call-audio"]`);
    await ivan.page.waitForSelector('[data-test="incoming"]:not([hidden])', { timeout: 15_000 });
    await hana.page.waitForSelector('[data-test="call-status"][data-status="ringing"]', { timeout: 10_000 });
    const callId = await activeCallId(hana);
    expect(callId).toBeTruthy();
    expect(await activeCallId(ivan)).toBe(callId);

    await ivan.page.click('[data-test="reject"]');
    for (const p of [ivan, hana]) {
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
      expect(await p.page.getAttribute('[data-test="call-status"]', 'data-end-reason')).toBe('rejected');
      expect(await p.page.textContent('[data-test="call-status"]')).toBe('Call declined');
      expect(await p.page.isVisible('[data-test="incoming"]')).toBe(false);
      expect(await p.page.isDisabled('[data-test="hang-up"]')).toBe(true);
    }
    // Never answered: no peer connection came up on either side.
    for (const p of [hana, ivan]) expect(await pcState(p)).not.toBe('connected');
    for (const [p, direction] of [
      [hana, 'outgoing'],
      [ivan, 'incoming'],
    ] as const) {
      const row = p.page.locator(`[data-test="history-item"][data-call-id="${callId}"]`);
      await row.waitFor({ timeout: 20_000 });
      expect(await row.getAttribute('data-outcome'), `${p.name}'s history (${direction})`).toBe('rejected');
      expect(Number(await row.getAttribute('data-duration-ms'))).toBe(0);
    }
    await screenshot(hana, 'rejected-caller.png');
  });

  it('mutes and unmutes the microphone and the camera during a call: the local tracks follow the buttons', async () => {
    const [lena, max] = await twoPeople('Lena', 'Max');
    await connectedCall(lena, max, 'video');
    const enabled = async (p: Person) =>
      Object.fromEntries((await localTracks(p)).map((t) => [t.kind, t.enabled]));
    for (const p of [lena, max]) {
      // The tracks the peer connection sends are the ones the buttons act on.
      expect(await localTracks(p)).toEqual(
        expect.arrayContaining([
          { kind: 'audio', enabled: true, readyState: 'live', sent: true },
          { kind: 'video', enabled: true, readyState: 'live', sent: true },
        ]),
      );
      await p.page.waitForSelector('[data-test="mute"]:not([disabled])');
      await p.page.waitForSelector('[data-test="camera"]:not([disabled])');

      await p.page.click('[data-test="mute"]');
      expect(await enabled(p)).toEqual({ audio: false, video: true });
      expect(await p.page.getAttribute('[data-test="mute"]', 'data-muted')).toBe('true');
      expect(await p.page.textContent('[data-test="mute"]')).toBe('Unmute');
      await p.page.click('[data-test="camera"]');
      expect(await enabled(p)).toEqual({ audio: false, video: false });
      expect(await p.page.textContent('[data-test="camera"]')).toBe('Camera on');

      await p.page.click('[data-test="mute"]');
      expect(await enabled(p)).toEqual({ audio: true, video: false });
      expect(await p.page.getAttribute('[data-test="mute"]', 'data-muted')).toBe('false');
      expect(await p.page.textContent('[data-test="mute"]')).toBe('Mute');
      await p.page.click('[data-test="camera"]');
      expect(await enabled(p)).toEqual({ audio: true, video: true });
      expect(await p.page.getAttribute('[data-test="camera"]', 'data-muted')).toBe('false');
    }
    // Muting is local: the call went on and nothing was renegotiated.
    for (const p of [lena, max]) {
      expect(await pcState(p)).toBe('connected');
      expect(await p.page.getAttribute('[data-test="call-status"]', 'data-status')).toBe('accepted');
    }
    await lena.page.click('[data-test="hang-up"]');
    for (const p of [lena, max]) {
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
      // The call's local media is stopped (camera and microphone released), and the buttons are off again.
      expect((await localTracks(p)).map((t) => t.readyState)).toEqual(['ended', 'ended']);
      expect(await p.page.isDisabled('[data-test="mute"]')).toBe(true);
    }
  });

  it('shows a contact going offline when their page signs out and online when it signs in again', async () => {
    const [jack, kate] = await twoPeople('Jack', 'Kate');
    // Presence flows between people who have each other as contacts: Kate accepts Jack first.
    await addContact(kate, jack);
    await addContact(jack, kate);
    const dot = jack.page.locator(`[data-test="contact"]:has-text("${kate.name}") [data-test="presence"]`);
    expect(await dot.getAttribute('data-status')).toBe('online');

    // Signing out disconnects Kate's page at once (a clean disconnect, no resume window).
    await kate.page.click('[data-test="sign-out"]');
    await kate.page.waitForSelector('[data-test="sign-in"]:not([hidden])');
    await waitForConnection(kate.page, 'disconnected');
    await jack.page.waitForSelector(
      `[data-test="contact"]:has-text("${kate.name}") [data-test="presence"][data-status="offline"]`,
      { timeout: 10_000 },
    );

    await signIn(kate);
    await waitForConnection(kate.page, 'connected');
    await jack.page.waitForSelector(
      `[data-test="contact"]:has-text("${kate.name}") [data-test="presence"][data-status="online"]`,
      { timeout: 10_000 },
    );
    // The page was told: Jack's own connection never dropped, so no reload of the contacts did it.
    expect(await events(jack)).not.toContain('error');
    expect(
      await jack.page.evaluate(() =>
        (window as unknown as { voipDemo: { events: { event: string; detail?: unknown }[] } }).voipDemo.events
          .filter((e) => e.event === 'connection')
          .map((e) => e.detail),
      ),
    ).toEqual(['connecting', 'connected']);
  });

  it('glare: both pages call each other at the same moment; both end up in the one call the server kept', async () => {
    const [nora, otto] = await twoPeople('Nora', 'Otto');
    await Promise.all([addContact(nora, otto), addContact(otto, nora)]);
    // Nobody clicks accept: the page whose call lost answers the one that survived on its own.
    await Promise.all([
      nora.page.click(`[data-test="contact"]:has-text("${otto.name}") [data-test="call-audio"]`),
      otto.page.click(`[data-test="contact"]:has-text("${nora.name}") [data-test="call-audio"]`),
    ]);
    for (const p of [nora, otto]) {
      // Playwright's 30 s, as the plain call above: glare takes more round trips (the loser's POST or dial
      // learns of the survivor, then answers it), and 15 s ran out once in ~35 loaded CI runs.
      await p.page.waitForSelector('[data-test="call-status"][data-status="accepted"]');
      await expect.poll(() => pcState(p), { timeout: 30_000, interval: 250 }).toBe('connected');
      expect(await p.page.isVisible('[data-test="incoming"]')).toBe(false);
      // The glare is no error to show.
      expect(
        await p.page.isVisible('[data-test="notice"]'),
        (await p.page.textContent('[data-test="notice"]')) ?? '',
      ).toBe(false);
    }
    const callId = await activeCallId(nora);
    expect(callId).toBeTruthy();
    expect(await activeCallId(otto)).toBe(callId);
    // It was glare: one page's own call lost (to this one) and that page took the survivor.
    const lost = await Promise.all([nora, otto].map(async (p) => (await events(p)).includes('glare-lost')));
    expect(lost.filter(Boolean)).toHaveLength(1);
    await expectMediaFlowing(nora, false);
    await otto.page.click('[data-test="hang-up"]');
    for (const p of [nora, otto])
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
  });

  it('drives a call through the WebView bundle as the Android app does (connectAsGuest, VoipUtils, AndroidVoip.onEvent)', async () => {
    type Bridge = {
      AndroidVoip: { onEvent(n: string, j: string): void };
      bridged: { name: string; payload: unknown }[];
    };
    const open = async () => {
      const context = await browser.newContext();
      await context.grantPermissions(['camera', 'microphone'], { origin: stack.url });
      const page = await context.newPage();
      // The native side's JavaScript interface, as addJavascriptInterface(bridge, "AndroidVoip") makes it.
      await page.addInitScript(() => {
        const w = window as unknown as Bridge;
        w.bridged = [];
        w.AndroidVoip = { onEvent: (name, json) => w.bridged.push({ name, payload: JSON.parse(json) }) };
      });
      await page.goto(`${stack.url}/webview.html`);
      return { context, page };
    };
    const bridged = (page: Awaited<ReturnType<typeof open>>['page']) =>
      page.evaluate(() => (window as unknown as Bridge).bridged.map((e) => e.name));
    const [a, b] = await Promise.all([open(), open()]);
    type Api = {
      connectAsGuest(url: string, name: string): { ready: Promise<{ guestId: string }> };
      VoipUtils: {
        isConnected(): boolean;
        startCall(id: string, media: string): Promise<string>;
        acceptCall(): Promise<void>;
        hangUp(): Promise<void>;
        disconnect(): void;
        stats(): Promise<{ kind: string; packetsReceived: number }[]>;
      };
    };
    const connect = (page: typeof a.page, name: string) =>
      page.evaluate(async (n) => {
        const w = window as unknown as Api;
        // The seed's form: a ws:// URL of the server.
        const { guestId } = await w.connectAsGuest(location.origin.replace(/^http/, 'ws'), n).ready;
        return guestId;
      }, name);
    const [, guestB] = await Promise.all([connect(a.page, 'Web A'), connect(b.page, 'Web B')]);
    for (const page of [a.page, b.page])
      await expect
        .poll(() => page.evaluate(() => (window as unknown as Api).VoipUtils.isConnected()), {
          timeout: 15_000,
        })
        .toBe(true);

    const callId = await a.page.evaluate(
      (id) => (window as unknown as Api).VoipUtils.startCall(id, 'audio'),
      guestB,
    );
    await expect.poll(() => bridged(b.page), { timeout: 15_000 }).toContain('incoming-call');
    await b.page.evaluate(() => (window as unknown as Api).VoipUtils.acceptCall());
    await expect.poll(() => bridged(a.page), { timeout: 15_000 }).toContain('call-accepted');
    for (const page of [a.page, b.page]) {
      await expect
        .poll(
          () =>
            page.evaluate(async () =>
              (await (window as unknown as Api).VoipUtils.stats()).some(
                (s) => s.kind === 'audio' && s.packetsReceived > 0,
              ),
            ),
          { timeout: 30_000, interval: 500 },
        )
        .toBe(true);
    }
    await a.page.evaluate(() => (window as unknown as Api).VoipUtils.hangUp());
    await expect.poll(() => bridged(b.page), { timeout: 10_000 }).toContain('call-ended');
    const ended = await b.page.evaluate(
      () => (window as unknown as Bridge).bridged.find((e) => e.name === 'call-ended')?.payload,
    );
    expect(ended).toMatchObject({ callId, reason: 'hangup' });
    expect(await bridged(a.page)).toEqual(
      expect.arrayContaining(['guest', 'connection', 'call-ringing', 'media-state']),
    );

    await a.page.evaluate(() => (window as unknown as Api).VoipUtils.disconnect());
    expect(await a.page.evaluate(() => (window as unknown as Api).VoipUtils.isConnected())).toBe(false);
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('signs registered users in through the WebView bundle (signIn, a token store the app provides, push token, resumeSession, signOut)', async () => {
    type Bridge = {
      AndroidVoip: { onEvent(n: string, j: string): void };
      AndroidVoipTokens: { load(): string | null; save(j: string): void; clear(): void };
      bridged: { name: string; payload: unknown }[];
      saved: string[];
      cleared: number;
    };
    type Api = {
      signIn(url: string, u: string, p: string): { ready: Promise<{ userId: string }> };
      resumeSession(url: string): { ready: Promise<{ userId: string }> };
      VoipUtils: {
        isConnected(): boolean;
        startCall(id: string, media: string): Promise<string>;
        acceptCall(): Promise<void>;
        hangUp(): Promise<void>;
        registerPushToken(token: string): Promise<void>;
        signOut(): Promise<void>;
        client(): {
          clientId: string;
          rest: { refresh(): Promise<unknown> };
          users: { devices(): Promise<{ items?: { deviceId: string; pushToken: string }[] } | unknown> };
        };
      };
    };
    // The native side: the event interface and a token store (on a phone, encrypted with a Keystore key).
    const open = async (stored: string | null = null) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.addInitScript((initial) => {
        const w = window as unknown as Bridge;
        w.bridged = [];
        w.saved = initial ? [initial] : [];
        w.cleared = 0;
        w.AndroidVoip = { onEvent: (name, json) => w.bridged.push({ name, payload: JSON.parse(json) }) };
        w.AndroidVoipTokens = {
          load: () => w.saved.at(-1) ?? null,
          save: (json) => void w.saved.push(json),
          clear: () => {
            w.cleared += 1;
            w.saved = [];
          },
        };
      }, stored);
      await page.goto(`${stack.url}/webview.html`);
      return { context, page };
    };
    const bridged = (page: Awaited<ReturnType<typeof open>>['page']) =>
      page.evaluate(() => (window as unknown as Bridge).bridged.map((e) => e.name));
    const register = async (name: string) => {
      const username = `${name.toLowerCase()}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6)}`;
      const res = await fetch(`${stack.url}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'correct horse battery', displayName: name }),
      });
      expect(res.status).toBe(201);
      return username;
    };
    const [ua, ub] = await Promise.all([register('Wanda'), register('Xavi')]);
    const [a, b] = await Promise.all([open(), open()]);
    const signIn = (page: typeof a.page, username: string) =>
      page.evaluate(
        async (u) =>
          (await (window as unknown as Api).signIn(location.origin, u, 'correct horse battery').ready).userId,
        username,
      );
    const [idA, idB] = await Promise.all([signIn(a.page, ua), signIn(b.page, ub)]);
    for (const page of [a.page, b.page])
      await expect
        .poll(() => page.evaluate(() => (window as unknown as Api).VoipUtils.isConnected()), {
          timeout: 15_000,
        })
        .toBe(true);
    // The tokens went to the app's store, and a refresh stores the rotated pair there too.
    const savedA = () => a.page.evaluate(() => (window as unknown as Bridge).saved);
    expect(await savedA()).toHaveLength(1);
    await a.page.evaluate(() => (window as unknown as Api).VoipUtils.client().rest.refresh());
    const afterRefresh = await savedA();
    expect(afterRefresh).toHaveLength(2);
    expect(JSON.parse(afterRefresh[1]!).refreshToken).not.toBe(JSON.parse(afterRefresh[0]!).refreshToken);
    expect(await bridged(a.page)).toEqual(expect.arrayContaining(['user', 'tokens', 'connection']));

    // Push registration under the SDK's clientId.
    await a.page.evaluate(() => (window as unknown as Api).VoipUtils.registerPushToken('fcm-webview-a'));
    const devices = await a.page.evaluate(async () => {
      const c = (window as unknown as Api).VoipUtils.client();
      return { clientId: c.clientId, list: JSON.stringify(await c.users.devices()) };
    });
    expect(devices.list).toContain(devices.clientId);
    expect(devices.list).toContain('fcm-webview-a');

    // A call between the two registered users, with the call events on the bridge.
    const callId = await a.page.evaluate(
      (id) => (window as unknown as Api).VoipUtils.startCall(id, 'audio'),
      idB,
    );
    await expect.poll(() => bridged(b.page), { timeout: 15_000 }).toContain('incoming-call');
    await b.page.evaluate(() => (window as unknown as Api).VoipUtils.acceptCall());
    await expect.poll(() => bridged(a.page), { timeout: 15_000 }).toContain('call-accepted');
    await a.page.evaluate(() => (window as unknown as Api).VoipUtils.hangUp());
    await expect.poll(() => bridged(b.page), { timeout: 10_000 }).toContain('call-ended');
    const ended = await b.page.evaluate(
      () => (window as unknown as Bridge).bridged.find((e) => e.name === 'call-ended')?.payload,
    );
    expect(ended).toMatchObject({ callId, reason: 'hangup' });

    // An app restart: a new WebView resumes the stored session without a password.
    const restarted = await open(afterRefresh[1]!);
    const resumedId = await restarted.page.evaluate(
      async () => (await (window as unknown as Api).resumeSession(location.origin).ready).userId,
    );
    expect(resumedId).toBe(idA);
    // Signing out clears the app's store.
    await restarted.page.evaluate(() => (window as unknown as Api).VoipUtils.signOut());
    expect(await restarted.page.evaluate(() => (window as unknown as Bridge).cleared)).toBe(1);
    expect(await restarted.page.evaluate(() => (window as unknown as Bridge).saved)).toEqual([]);
    await Promise.all([a.context.close(), b.context.close(), restarted.context.close()]);
  });

  it('keeps the call when the caller’s network goes away and comes back', async () => {
    const [carol, dave] = await twoPeople('Carol', 'Dave');
    const callId = await connectedCall(carol, dave, 'video');
    await expectMediaFlowing(dave, true);

    // The caller's network goes: the page is offline and its socket dies, as when a phone loses its network.
    await carol.context.setOffline(true);
    await carol.page.evaluate(() =>
      (window as unknown as { voipDemo: { dropSignaling(): void } }).voipDemo.dropSignaling(),
    );
    await carol.page.waitForSelector(
      '[data-test="connection"]:is([data-state="reconnecting"], [data-state="failed"])',
    );
    await dave.page.waitForSelector('[data-test="call-status"][data-peer-reconnecting="true"]', {
      timeout: 15_000,
    });
    await screenshot(carol, 'offline-caller.png');
    await screenshot(dave, 'offline-callee.png');

    await carol.context.setOffline(false);
    await waitForConnection(carol.page, 'connected');
    await dave.page.waitForSelector('[data-test="call-status"][data-peer-reconnecting="false"]', {
      timeout: 15_000,
    });
    expect(await events(dave)).toEqual(expect.arrayContaining(['peer-reconnecting', 'peer-reconnected']));
    for (const p of [carol, dave]) {
      expect(await activeCallId(p)).toBe(callId);
      expect(await p.page.getAttribute('[data-test="call-status"]', 'data-status')).toBe('accepted');
      await expect.poll(() => pcState(p), { timeout: 30_000, interval: 250 }).toBe('connected');
    }
    await Promise.all([expectMediaFlowing(carol, true), expectMediaFlowing(dave, true)]);
    await screenshot(carol, 'resumed-caller.png');
    await screenshot(dave, 'resumed-callee.png');

    await dave.page.click('[data-test="hang-up"]');
    for (const p of [carol, dave])
      await p.page.waitForSelector('[data-test="call-status"][data-status="ended"]', { timeout: 10_000 });
  });
});
