// A device speaking our protocol (lib/sio.ts underneath) as the SDKs do, for generators: events are kept
// until someone waits for them (bounded), and `callFlow` runs one complete call between two devices.
// `setUpCall` is its ringing and answering, also for generators that hold bare sockets (`bareParty`).
import type { CallStore } from '@voip/call-state/call-store';
import { SERVER_EVENTS } from '@voip/contracts/socket-events';
import { type Ack, type ConnectOpts, connectSio, emitOk, type SioClient } from './sio.ts';

export class Device {
  sio: SioClient;
  session: { resumeToken: string } | null = null;
  /** Received events not yet taken, per name (the newest 200). */
  private inbox = new Map<string, unknown[]>();
  private waiters = new Map<string, { pred: (d: unknown) => boolean; resolve(d: unknown): void }[]>();
  readonly received: Record<string, number> = {};

  private constructor(sio: SioClient) {
    this.sio = sio;
    for (const ev of SERVER_EVENTS) sio.on(ev, (d: unknown) => this.deliver(ev, d));
  }

  static async connect(
    url: string,
    auth: Record<string, unknown>,
    o: Omit<ConnectOpts, 'auth'> = {},
  ): Promise<Device> {
    const d = new Device(await connectSio(url, { ...o, auth }));
    d.session = (await d.next('session')) as { resumeToken: string };
    return d;
  }

  private deliver(ev: string, d: unknown) {
    this.received[ev] = (this.received[ev] ?? 0) + 1;
    const ws = this.waiters.get(ev);
    const i = ws?.findIndex((w) => w.pred(d)) ?? -1;
    if (ws && i >= 0) {
      ws.splice(i, 1)[0]!.resolve(d);
      return;
    }
    const box = this.inbox.get(ev) ?? [];
    box.push(d);
    if (box.length > 200) box.shift();
    this.inbox.set(ev, box);
  }

  next<T = unknown>(ev: string, pred: (d: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
    const box = this.inbox.get(ev);
    const i = box?.findIndex((d) => pred(d as T)) ?? -1;
    if (box && i >= 0) return Promise.resolve(box.splice(i, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const w = { pred: pred as (d: unknown) => boolean, resolve: resolve as (d: unknown) => void };
      const list = this.waiters.get(ev) ?? [];
      list.push(w);
      this.waiters.set(ev, list);
      setTimeout(() => {
        const l = this.waiters.get(ev);
        const k = l?.indexOf(w) ?? -1;
        if (l && k >= 0) {
          l.splice(k, 1);
          reject(new Error(`no ${ev} in ${timeoutMs} ms`));
        }
      }, timeoutMs).unref();
    });
  }

  /** Drops what is kept of a call's events (the relay's messages nobody waits for). */
  forget(callId: string) {
    for (const [ev, box] of this.inbox)
      this.inbox.set(
        ev,
        box.filter((d) => (d as { callId?: string }).callId !== callId),
      );
  }

  ack(ev: string, payload: unknown, timeoutMs = 30_000): Promise<Ack> {
    return emitOk(this.sio, ev, payload, timeoutMs);
  }

  close() {
    this.sio.close();
  }
}

export const iceCandidate = (n: number) => ({
  candidate: `candidate:${n} 1 udp 2122260223 192.0.2.1 ${10000 + (n % 50000)} typ host generation 0 ufrag Xy3p network-id 1`,
  sdpMid: '0',
  sdpMLineIndex: 0,
});

/** What setting up a call needs of each side (a Device, or a bare socket through `bareParty`). */
export interface CallParty {
  /** Sends an event with an ack; fails unless the server said ok. */
  ack(ev: string, payload: unknown): Promise<unknown>;
  /** The next event `ev` that `pred` accepts. */
  next(ev: string, pred: (d: { callId?: string }) => boolean): Promise<unknown>;
}

/** A bare socket (lib/sio.ts, no Device) as a CallParty. */
export function bareParty(s: SioClient): CallParty {
  return {
    ack: (ev, payload) => emitOk(s, ev, payload),
    async next(ev, pred) {
      for (;;) {
        const d = await s.once<{ callId?: string }>(ev);
        if (pred(d)) return d;
      }
    },
  };
}

/** A ringing audio call between two principals written straight to the call store (the call service's part); its id. */
export async function createAudioCall(
  store: Pick<CallStore, 'create'>,
  callerId: string,
  calleeId: string,
): Promise<string> {
  const res = await store.create({ callerId, callerKind: 'user', callerName: 'x', calleeId, media: 'audio' });
  if (!res.ok) throw new Error(`create call: ${res.code}`);
  return res.call.callId;
}

/** Rings and answers a call on an existing callId: call-user → incoming-call → accept-call → call-accepted. */
export async function setUpCall(caller: CallParty, callee: CallParty, callId: string): Promise<void> {
  const byCall = (d: { callId?: string }) => d.callId === callId;
  const incoming = callee.next('incoming-call', byCall);
  await caller.ack('call-user', { callId, offer: { type: 'offer', sdp: 'v=0' } });
  await incoming;
  const accepted = caller.next('call-accepted', byCall);
  await callee.ack('accept-call', { callId, answer: { type: 'answer', sdp: 'v=0' } });
  await accepted;
}

/** One complete call on an existing callId: call-user → incoming → accept → accepted → ICE both ways → end → ended on both. */
export async function callFlow(
  caller: Device,
  callee: Device,
  callId: string,
  ice = 4,
): Promise<{ setupMs: number; totalMs: number }> {
  const byCall = (d: { callId?: string }) => d.callId === callId;
  const t0 = performance.now();
  await setUpCall(caller, callee, callId);
  const setupMs = performance.now() - t0;
  const got: Promise<unknown>[] = [];
  for (let i = 0; i < ice; i++) {
    got.push(callee.next('ice-candidate', byCall), caller.next('ice-candidate', byCall));
    await Promise.all([
      caller.ack('ice-candidate', { callId, candidate: iceCandidate(i) }),
      callee.ack('ice-candidate', { callId, candidate: iceCandidate(100 + i) }),
    ]);
  }
  await Promise.all(got);
  const ended = [caller.next('call-ended', byCall), callee.next('call-ended', byCall)];
  await caller.ack('end-call', { callId });
  await Promise.all(ended);
  caller.forget(callId);
  callee.forget(callId);
  return { setupMs, totalMs: performance.now() - t0 };
}
