// Entry of dist/voip-client.js, the IIFE bundle the Android app loads in its WebView: the globals the
// seeds' Android client calls (`connectAsGuest`, `VoipUtils.*`), and for registered users `signIn`,
// `resumeSession`, `VoipUtils.registerPushToken` and `VoipUtils.signOut`, with the session's tokens kept
// in a store the app provides (`window.AndroidVoipTokens`: load/save/clear, backed by the Keystore).
// Events go back to the native side through a JavaScript interface (`window.AndroidVoip.onEvent(name,
// json)`) and as DOM events.
// Just over ~400 lines: the bundle's whole global surface in one file, as the Android side sees it.
import type { Media } from '@voip/contracts/calls';
import { ApiError } from './api-error.js';
import type { Call } from './call.js';
import type { QualityOptions, QualitySample } from './quality-monitor.js';
import type { KeyValueStorage } from './storage.js';
import { TOKENS_KEY } from './rest-client.js';
import { defaultStorage } from './storage.js';
import { VoipClient, type VoipClientOptions } from './voip.js';
import { type InboundStats, RecordingMedia, type WebRtcSession, webRtcMedia } from './webrtc.js';

interface NativeBridge {
  onEvent(name: string, json: string): void;
}
type Handler = (payload: unknown) => void;

/**
 * Where the app keeps the session (the JSON the SDK writes; refresh tokens rotate, so `save` is called
 * after every refresh): `addJavascriptInterface(store, "AndroidVoipTokens")` with three @JavascriptInterface
 * methods, encrypting with a Keystore key (docs/ANDROID.md). Without one, localStorage.
 */
export interface NativeTokenStore {
  load(): string | null | undefined;
  save(json: string): void;
  clear(): void;
}

export interface WebViewUserConnection {
  client: VoipClient;
  /** Resolves once signed in (or the stored session is valid) and the socket is connecting. */
  ready: Promise<{ userId: string; displayName: string }>;
}

export interface WebViewOptions extends Partial<Omit<VoipClientOptions, 'url' | 'media' | 'storage'>> {
  tokenStore?: NativeTokenStore;
  /** Call quality sampling and send adaptation (packages/client README); `false` turns it off. */
  quality?: QualityOptions | false;
  storage?: KeyValueStorage;
}

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
const lastQuality = new Map<string, QualitySample>();
/** A recorded call's room connections, and the peer-to-peer tracks paused meanwhile. */
const recordingMedia = new Map<
  string,
  { media: RecordingMedia; paused: [RTCRtpSender, MediaStreamTrack | null][] }
>();

async function startRecordingMedia(callId: string, recordingId: string): Promise<void> {
  const session = sessions.get(callId);
  if (!current || !session?.localStream || !session.pc || recordingMedia.has(callId)) return;
  const pc = session.pc;
  const media = new RecordingMedia(
    current.client.recordings,
    callId,
    recordingId,
    session.localStream,
    pc.getConfiguration(),
  );
  const entry = { media, paused: [] as [RTCRtpSender, MediaStreamTrack | null][] };
  recordingMedia.set(callId, entry);
  media.on('remote-stream', (stream) => {
    if (entry.paused.length === 0)
      for (const sender of pc.getSenders()) {
        entry.paused.push([sender, sender.track]);
        void sender.replaceTrack(null);
      }
    // The app shows this stream instead of the peer-to-peer one (DOM event detail, like remote-stream).
    send('recording-media', { callId, recordingId, state: 'room' });
    window.dispatchEvent(new CustomEvent('voip:recording-remote-stream', { detail: { callId, stream } }));
  });
  media.on('failed', () => stopRecordingMedia(callId));
  await media.start().catch(() => stopRecordingMedia(callId));
}

function stopRecordingMedia(callId: string): void {
  const entry = recordingMedia.get(callId);
  if (!entry) return;
  recordingMedia.delete(callId);
  for (const [sender, track] of entry.paused) void sender.replaceTrack(track).catch(() => undefined);
  entry.media.close();
  send('recording-media', { callId, recordingId: entry.media.recordingId, state: 'p2p' });
}

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
  // The peer's step changed or its connection became poor: the UI can say "poor connection".
  call.on('peer-quality', (p) => send('peer-quality', p));
  call.on('error', (err) => send('error', { callId: call.id, message: err.message }));
  call.on('ended', (p) => {
    sessions.delete(call.id);
    lastQuality.delete(call.id);
    if (activeCall === call) activeCall = null;
    send('call-ended', p);
  });
}

function requireClient(): VoipClient {
  if (!current) throw new ApiError(0, 'NOT_CONNECTED', 'call connectAsGuest, signIn or resumeSession first');
  return current.client;
}

function callOrActive(callId?: string): Call {
  const call = callId ? requireClient().call(callId) : activeCall;
  if (!call) throw new ApiError(0, 'NO_CALL', callId ? `unknown call ${callId}` : 'no active call');
  return call;
}

/** The tokens in the app's store, everything else (the per-install clientId) in `rest`. */
export function tokenStoreStorage(store: NativeTokenStore, rest: KeyValueStorage): KeyValueStorage {
  return {
    getItem: (key) => (key === TOKENS_KEY ? (store.load() ?? null) : rest.getItem(key)),
    setItem: (key, value) => (key === TOKENS_KEY ? store.save(value) : rest.setItem(key, value)),
    removeItem: (key) => (key === TOKENS_KEY ? store.clear() : rest.removeItem(key)),
  };
}

function userStorage(options: WebViewOptions): KeyValueStorage {
  const base = options.storage ?? defaultStorage();
  const store =
    options.tokenStore ?? (globalThis as { AndroidVoipTokens?: NativeTokenStore }).AndroidVoipTokens;
  return store ? tokenStoreStorage(store, base) : base;
}

/** A client wired to the bridge: WebRTC media on the page, every event to the native side. */
function createClient(
  url: string,
  storage: KeyValueStorage,
  options: Partial<VoipClientOptions> & { quality?: QualityOptions | false },
): VoipClient {
  current?.client.disconnect();
  const client = new VoipClient({
    ...options,
    url: normalizeUrl(url),
    storage,
    media: webRtcMedia({
      ...(options.quality !== undefined ? { quality: options.quality } : {}),
      onSession: (session, call) => {
        sessions.set(call.id, session);
        session.on('local-stream', (s) => attach('voip-local', s));
        session.on('remote-stream', (s) => attach('voip-remote', s));
        session.on('connection-state', (state) => send('media-state', { callId: call.id, state }));
        session.on('quality', (q) => lastQuality.set(call.id, q));
        session.on('quality-step', (c) => send('quality-step', { callId: call.id, ...c }));
      },
    }),
  });
  current = { client, storage };
  client.rest.on('tokens', (t) => send('tokens', { signedIn: t !== null, expiresAt: t?.expiresAt ?? null }));
  client.on('connection', (s) => send('connection', s));
  client.on('presence', (p) => send('presence', p));
  client.on('session-revoked', (p) => send('session-revoked', p));
  // Recording (issue 18): the native side shows the consent prompt and the indicator; the media switches
  // to the call's room (and back) here, on recording-started and on recording-stopped / recording-failed.
  client.on('recording-requested', (p) => send('recording-requested', p));
  client.on('recording-started', (p) => {
    send('recording-started', p);
    void startRecordingMedia(p.callId, p.recordingId);
  });
  client.on('recording-stopped', (p) => {
    stopRecordingMedia(p.callId);
    send('recording-stopped', p);
  });
  client.on('recording-failed', (p) => {
    stopRecordingMedia(p.callId);
    send('recording-failed', p);
  });
  client.on('recording-ready', (p) => send('recording-ready', p));
  client.on('session-lost', (e) => send('session-lost', { code: e.code, message: e.message }));
  client.on('call', (call) => track(call));
  client.on('incoming-call', (call) => send('incoming-call', { ...describe(call), expiresAt: call.expiresAt }));
  return client;
}

/** Signs in as a guest (reusing this install's guest while its session lives) and connects. */
export function connectAsGuest(
  url: string,
  displayName: string,
  options: Partial<Omit<VoipClientOptions, 'url' | 'media'>> & { quality?: QualityOptions | false } = {},
): WebViewConnection {
  const storage = options.storage ?? defaultStorage();
  const client = createClient(url, storage, options);

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

/** Resolves with the signed-in user once the user service knows it, then connects the socket. */
async function connectUser(client: VoipClient): Promise<{ userId: string; displayName: string }> {
  const me = await client.users.me();
  client.connect();
  const user = { userId: me.id, displayName: me.displayName };
  send('user', { ...user, clientId: client.clientId });
  return user;
}

function reportFailure(ready: Promise<unknown>): void {
  ready.catch((err: unknown) => send('error', { code: (err as ApiError).code ?? 'ERROR', message: (err as Error).message }));
}

/**
 * Signs a registered user in (POST /api/auth/login; the tokens go to the app's token store) and connects.
 * The access token is refreshed before it expires, one refresh at a time, and the store gets each new pair.
 */
export function signIn(
  url: string,
  username: string,
  password: string,
  options: WebViewOptions = {},
): WebViewUserConnection {
  const client = createClient(url, userStorage(options), options);
  const ready = (async () => {
    await client.auth.login({ username, password });
    return connectUser(client);
  })();
  reportFailure(ready);
  return { client, ready };
}

/**
 * Connects with the session in the app's token store (an app restart, or a WebView woken by a push);
 * `ready` rejects with NOT_SIGNED_IN when there is none, or with the refresh's error when it was revoked.
 */
export function resumeSession(url: string, options: WebViewOptions = {}): WebViewUserConnection {
  const client = createClient(url, userStorage(options), options);
  const ready = (async () => {
    if (!client.signedIn) throw new ApiError(401, 'NOT_SIGNED_IN', 'no stored session: call signIn');
    return connectUser(client);
  })();
  reportFailure(ready);
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
  /**
   * The call's quality now: the last sample (RTT, loss, bitrates, path), our sending step, and the
   * peer's last `peer-quality`. Null before the first sample.
   */
  quality(callId?: string): (QualitySample & { peer: { step: string | null; poor: boolean } | null }) | null {
    const call = callOrActive(callId);
    const sample = lastQuality.get(call.id);
    if (!sample) return null;
    const peer = call.peerQuality;
    return { ...sample, peer: peer ? { step: peer.step, poor: peer.poor } : null };
  },
  /** Asks the peer to consent to recording the call; resolves with the recordingId. */
  async askRecording(callId?: string): Promise<string> {
    return (await requireClient().recordings.ask(callOrActive(callId).id)).recordingId;
  },
  /** Answers the peer's recording-requested. */
  async consentRecording(recordingId: string, consent: boolean, callId?: string): Promise<void> {
    await requireClient().recordings.consent(callOrActive(callId).id, recordingId, consent);
  },
  async stopRecording(recordingId: string, callId?: string): Promise<void> {
    await requireClient().recordings.stop(callOrActive(callId).id, recordingId);
  },
  /** A short-lived absolute download URL of a ready recording (participants only). */
  async recordingLink(recordingId: string): Promise<string> {
    const client = requireClient();
    const link = await client.recordings.link(recordingId);
    return new URL(link.url, client.rest.baseUrl).toString();
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
  /**
   * Registers this install's FCM token for wake-up pushes, under the SDK's clientId (so the server skips
   * the cancel push while this device's socket is connected).
   */
  async registerPushToken(pushToken: string, platform: 'android' | 'ios' | 'web' = 'android'): Promise<void> {
    const client = requireClient();
    await client.users.putDevice(client.clientId, { platform, pushToken });
  },
  /** Hangs up, disconnects, ends the server session and clears the token store. */
  signOut(): Promise<void> {
    return requireClient().signOut();
  },
  /** The underlying SDK client, for anything the helpers do not cover. */
  client(): VoipClient | null {
    return current?.client ?? null;
  },
};

Object.assign(globalThis, { connectAsGuest, signIn, resumeSession, VoipUtils });
