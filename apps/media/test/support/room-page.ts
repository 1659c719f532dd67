/// <reference lib="dom" />
// A participant's media side in real headless Chromium (fake camera and microphone): a send-only
// connection publishing to the call's Janus room and a receive-only one subscribing to the other
// participant, both negotiated through the public door (/api/media/...) with the page's own fetch.
import type { Browser, Page } from 'playwright-core';
import { CHROMIUM, chromiumArgs } from '@voip/testkit/chromium';
import { chromium } from 'playwright-core';

export function launchChromium(trustSpki: string): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: chromiumArgs(trustSpki) });
}

/** A page on the stack's origin (so fetch reaches /api/ same-origin) with the room helpers installed. */
export async function openRoomPage(browser: Browser, url: string): Promise<Page> {
  const context = await browser.newContext();
  await context.grantPermissions(['camera', 'microphone'], { origin: url });
  const page = await context.newPage();
  await page.goto(`${url}/`);
  await page.evaluate(() => {
    type W = typeof window & { room: Record<string, unknown> };
    const gathered = (pc: RTCPeerConnection) =>
      new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') resolve();
        });
        setTimeout(resolve, 5000);
      });
    const api = async (token: string, path: string, body: unknown) => {
      const res = await fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const state: { pub?: RTCPeerConnection; sub?: RTCPeerConnection } = {};
    (window as W).room = {
      async publish(token: string, callId: string, recordingId: string) {
        state.pub?.close();
        const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
        const pc = new RTCPeerConnection();
        for (const t of stream.getTracks())
          pc.addTransceiver(t, { direction: 'sendonly', streams: [stream] });
        await pc.setLocalDescription(await pc.createOffer());
        await gathered(pc);
        const r = await api(token, `/api/media/calls/${callId}/recording/publish`, {
          recordingId,
          offer: { type: 'offer', sdp: pc.localDescription!.sdp },
        });
        if (r.status !== 200) throw new Error(`publish: ${r.status} ${JSON.stringify(r.body)}`);
        await pc.setRemoteDescription(r.body.answer);
        state.pub = pc;
        return r.status;
      },
      async subscribe(token: string, callId: string, recordingId: string) {
        const r = await api(token, `/api/media/calls/${callId}/recording/subscribe`, { recordingId });
        if (r.status !== 200) return r.status;
        const pc = new RTCPeerConnection();
        await pc.setRemoteDescription(r.body.offer);
        await pc.setLocalDescription(await pc.createAnswer());
        await gathered(pc);
        const a = await api(token, `/api/media/calls/${callId}/recording/subscribe/answer`, {
          recordingId,
          answer: { type: 'answer', sdp: pc.localDescription!.sdp },
        });
        state.sub = pc;
        return a.status;
      },
      pubState: () => state.pub?.connectionState ?? null,
      async inbound() {
        if (!state.sub) return { audio: 0, video: 0 };
        let audio = 0;
        let video = 0;
        (await state.sub.getStats()).forEach((s: RTCStats & Record<string, number | string>) => {
          if (s.type !== 'inbound-rtp') return;
          if (s.kind === 'audio') audio += Number(s.packetsReceived ?? 0);
          if (s.kind === 'video') video += Number(s.framesDecoded ?? 0);
        });
        return { audio, video };
      },
      close() {
        state.pub?.close();
        state.sub?.close();
      },
    };
  });
  return page;
}

type RoomApi = {
  publish(token: string, callId: string, recordingId: string): Promise<number>;
  subscribe(token: string, callId: string, recordingId: string): Promise<number>;
  pubState(): string | null;
  inbound(): Promise<{ audio: number; video: number }>;
  close(): void;
};

export const room = {
  publish: (p: Page, token: string, callId: string, recordingId: string) =>
    p.evaluate(
      ([t, c, r]) => (window as unknown as { room: RoomApi }).room.publish(t!, c!, r!),
      [token, callId, recordingId],
    ),
  subscribe: (p: Page, token: string, callId: string, recordingId: string) =>
    p.evaluate(
      ([t, c, r]) => (window as unknown as { room: RoomApi }).room.subscribe(t!, c!, r!),
      [token, callId, recordingId],
    ),
  pubState: (p: Page) => p.evaluate(() => (window as unknown as { room: RoomApi }).room.pubState()),
  inbound: (p: Page) => p.evaluate(() => (window as unknown as { room: RoomApi }).room.inbound()),
  close: (p: Page) => p.evaluate(() => (window as unknown as { room: RoomApi }).room.close()),
};
