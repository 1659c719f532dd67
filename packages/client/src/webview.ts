// Entry of dist/voip-client.js, the IIFE bundle the Android app loads in its WebView: the globals the
// seeds' Android client calls (`connectAsGuest`, `VoipUtils.*`), with events going back to the native
// side through a JavaScript interface (`window.AndroidVoip.onEvent(name, json)`) and as DOM events.
import type { Media } from '@voip/contracts/calls';
import { ApiError } from './api-error.js';
import type { Call } from './call.js';
import type { KeyValueStorage } from './storage.js';
import { defaultStorage } from './storage.js';
import { VoipClient, type VoipClientOptions } from './voip.js';
import { type InboundStats, type WebRtcSession, webRtcMedia } from './webrtc.js';

interface NativeBridge {
  onEvent(name: string, json: string): void;
}
type Handler = (payload: unknown) => void;

export interface WebViewConnection {
  client: VoipClient;
  /**
   * Resolves once signed in as the guest and known to the user service, so others can call it at once
   * (the socket then connects in the background).
   */
  ready: Promise<{ guestId: string; displayName: string }>;
}

const GUEST_KEY = 'voip.guest';
const handlers = new Map<string, Set<Handler>>();
let current: { client: VoipClient; storage: KeyValueStorage } | null = null;
let activeCall: Call | null = null;
const sessions = new Map<string, WebRtcSession>();

/** `ws://host:3004/socket.io` (the seed's form) or `https://host` → the public base URL. */
export function normalizeUrl(url: string): string {
  const u = new URL(url, typeof location !== 'undefined' ? location.href : undefined);
  if (u.protocol === 'ws:') u.protocol = 'http:';
  if (u.protocol === 'wss:') u.protocol = 'https:';
  return `${u.protocol}//${u.host}`;
}

function send(name: string, payload: unknown): void {
  const json = JSON.stringify(payload ?? null);
  const bridge = (globalThis as { AndroidVoip?: NativeBridge }).AndroidVoip;
  try {
    bridge?.onEvent(name, json);
  } catch {
    // a broken native callback must not break the call
  }
  for (const h of handlers.get(name) ?? []) h(payload);
  for (const h of handlers.get('*') ?? []) h({ name, payload });
  if (typeof window !== 'undefined' && typeof CustomEvent === 'function')
    window.dispatchEvent(new CustomEvent('voip', { detail: { name, payload } }));
}

function attach(elementId: string, stream: MediaStream): void {
  if (typeof document === 'undefined') return;
  const el = document.getElementById(elementId) as HTMLMediaElement | null;
  if (!el) return;
  el.srcObject = stream;
  el.play().catch(() => undefined);
}

function describe(call: Call) {
  return { callId: call.id, direction: call.direction, peer: call.peer, media: call.media, status: call.status };
}

function track(call: Call): void {
  activeCall = call;
  call.on('status', (status) => send('call-status', { callId: call.id, status }));
  call.on('ringing', (p) => send('call-ringing', p));
  call.on('accepted', () => send('call-accepted', { callId: call.id }));
  call.on('rejected', (p) => send('call-rejected', p));
  call.on('answered-elsewhere', (p) => send('call-answered-elsewhere', p));
  call.on('peer-reconnecting', (p) => send('peer-reconnecting', p));
  call.on('peer-reconnected', (p) => send('peer-reconnected', p));
  call.on('error', (err) => send('error', { callId: call.id, message: err.message }));
  call.on('ended', (p) => {
    sessions.delete(call.id);
    if (activeCall === call) activeCall = null;
    send('call-ended', p);
  });
}

function requireClient(): VoipClient {
  if (!current) throw new ApiError(0, 'NOT_CONNECTED', 'call connectAsGuest first');
  return current.client;
}

function callOrActive(callId?: string): Call {
  const call = callId ? requireClient().call(callId) : activeCall;
  if (!call) throw new ApiError(0, 'NO_CALL', callId ? `unknown call ${callId}` : 'no active call');
  return call;
}

/** Signs in as a guest (reusing this install's guest while its session lives) and connects. */
export function connectAsGuest(
  url: string,
  displayName: string,
  options: Partial<Omit<VoipClientOptions, 'url' | 'media'>> = {},
): WebViewConnection {
  current?.client.disconnect();
  const storage = options.storage ?? defaultStorage();
  const client = new VoipClient({
    ...options,
    url: normalizeUrl(url),
    storage,
    media: webRtcMedia({
      onSession: (session, call) => {
        sessions.set(call.id, session);
        session.on('local-stream', (s) => attach('voip-local', s));
        session.on('remote-stream', (s) => attach('voip-remote', s));
        session.on('connection-state', (state) => send('media-state', { callId: call.id, state }));
      },
    }),
  });
  current = { client, storage };
  client.on('connection', (s) => send('connection', s));
  client.on('presence', (p) => send('presence', p));
  client.on('session-revoked', (p) => send('session-revoked', p));
  client.on('session-lost', (e) => send('session-lost', { code: e.code, message: e.message }));
  client.on('call', (call) => track(call));
  client.on('incoming-call', (call) => send('incoming-call', { ...describe(call), expiresAt: call.expiresAt }));

  const ready = (async () => {
    const saved = JSON.parse(storage.getItem(GUEST_KEY) ?? 'null') as { id: string; displayName: string } | null;
    let guest: { id: string; displayName: string } | null = null;
    if (saved?.displayName === displayName && client.signedIn) {
      guest = await client.auth.me().then(
        (me) => ({ id: me.id, displayName: me.displayName }),
        () => null,
      );
    }
    if (!guest) {
      const res = await client.auth.guest(displayName);
      guest = { id: res.guest.id, displayName: res.guest.displayName };
      storage.setItem(GUEST_KEY, JSON.stringify(guest));
    }
    // The user service learns of a new guest from the bus, a moment later; until then a call to it is
    // 404. Reading its own profile creates it now (best effort: a user service that is down only delays it).
    await client.users.me().catch(() => undefined);
    client.connect();
    send('guest', { guestId: guest.id, displayName: guest.displayName, clientId: client.clientId });
    return { guestId: guest.id, displayName: guest.displayName };
  })();
  ready.catch((err: unknown) => send('error', { code: (err as ApiError).code ?? 'ERROR', message: (err as Error).message }));
  return { client, ready };
}

export const VoipUtils = {
  isConnected(): boolean {
    return current?.client.isConnected ?? false;
  },
  /** disconnected | connecting | connected | reconnecting | failed */
  connectionState(): string {
    return current?.client.connection.state ?? 'disconnected';
  },
  /** Calls a user or guest; resolves with the callId (events follow through onEvent). */
  async startCall(targetId: string, media: Media = 'audio'): Promise<string> {
    try {
      const call = await requireClient().startCall(targetId, media);
      return call.id;
    } catch (err) {
      const e = err as ApiError;
      send('error', { code: e.code ?? 'ERROR', message: e.message, details: e.details });
      throw err;
    }
  },
  acceptCall(callId?: string): Promise<void> {
    return callOrActive(callId).accept();
  },
  rejectCall(callId?: string): Promise<void> {
    return callOrActive(callId).reject();
  },
  hangUp(callId?: string): Promise<void> {
    return callOrActive(callId).hangUp();
  },
  setMuted(kind: 'audio' | 'video', muted: boolean, callId?: string): void {
    sessions.get(callOrActive(callId).id)?.setMuted(kind, muted);
  },
  /** Inbound RTP counters of a call (diagnostics, tests). */
  async stats(callId?: string): Promise<InboundStats[]> {
    return (await sessions.get(callOrActive(callId).id)?.inboundStats()) ?? [];
  },
  activeCall(): ReturnType<typeof describe> | null {
    return activeCall ? describe(activeCall) : null;
  },
  /** Subscribes in JavaScript to the same events the native bridge gets ('*' for all). */
  on(name: string, handler: Handler): () => void {
    const set = handlers.get(name) ?? new Set<Handler>();
    handlers.set(name, set);
    set.add(handler);
    return () => set.delete(handler);
  },
  disconnect(): void {
    current?.client.disconnect();
  },
  /** The underlying SDK client, for anything the helpers do not cover. */
  client(): VoipClient | null {
    return current?.client ?? null;
  },
};

Object.assign(globalThis, { connectAsGuest, VoipUtils });
