// The demo client served by Nginx at `/`: sign in (guest, login, register), contacts with presence,
// audio/video calls with the SDK's WebRTC helper, call history, and the connection state at all times.
// State lives in sessionStorage, so two tabs of one browser are two independent devices.
import type { Call } from '@voip/client/call';
import type { ConnectionSnapshot } from '@voip/client/connection-state';
import type { QualityOptions } from '@voip/client/quality-monitor';
import { defaultStorage, type KeyValueStorage } from '@voip/client/storage';
import { VoipClient } from '@voip/client/voip';
import { webRtcMedia } from '@voip/client/webrtc';
import { CallView } from './call-view.js';
import { ContactsView } from './contacts-view.js';
import { byId, describeError, show } from './dom.js';
import { HistoryView } from './history-view.js';
import { People } from './people.js';
import { RecordingView } from './recording-view.js';

function tabStorage(): KeyValueStorage {
  try {
    sessionStorage.setItem('__probe__', '1');
    sessionStorage.removeItem('__probe__');
    return sessionStorage;
  } catch {
    return defaultStorage();
  }
}

/** What the page did, in order: for people reading the console and for the end-to-end tests. */
const events: { at: number; event: string; detail?: unknown }[] = [];
function log(event: string, detail?: unknown): void {
  events.push({ at: Date.now(), event, detail });
  if (events.length > 500) events.shift();
}

const notice = byId('notice');
function showError(err: unknown): void {
  notice.textContent = describeError(err);
  show(notice, true);
  log('error', describeError(err));
  setTimeout(() => show(notice, false), 6000);
}

// `?ice=relay` forces media through TURN (RTCPeerConnection iceTransportPolicy 'relay'): for trying out
// the TURN server, and for the end-to-end test that proves a relayed call works. `?ice=relay-tls` also
// keeps only the turns: URLs (TURN over TLS), as a phone on a network that lets only TLS out would use.
const iceMode = new URLSearchParams(location.search).get('ice');
const rtcConfig: RTCConfiguration =
  iceMode === 'relay' || iceMode === 'relay-tls' ? { iceTransportPolicy: 'relay' } : {};
const iceUrlFilter = iceMode === 'relay-tls' ? (url: string) => url.startsWith('turns:') : undefined;
// Call quality: the SDK's defaults (a sample every 2 s, a summary every 10 s). `?quality=fast` samples every
// second and reports every 3 s, and `?adapt=` gives adaptation thresholds as JSON (the browser tests use
// both to see a step change within seconds); `?quality=off` turns sampling and adaptation off.
const params = new URLSearchParams(location.search);
const qualityMode = params.get('quality');
const adaptation = params.get('adapt');
const quality: QualityOptions | false =
  qualityMode === 'off'
    ? false
    : {
        ...(qualityMode === 'fast' ? { sampleIntervalMs: 1000, reportIntervalMs: 3000 } : {}),
        ...(adaptation ? { adaptation: JSON.parse(adaptation) as QualityOptions['adaptation'] } : {}),
      };

let myId: string | null = null;
let callView: CallView;
const client = new VoipClient({
  url: location.origin,
  storage: tabStorage(),
  media: webRtcMedia({
    rtcConfig,
    quality,
    ...(iceUrlFilter ? { iceUrlFilter } : {}),
    onSession: (session, call) => callView.attachSession(session, call),
  }),
});
const people = new People(client);
const contacts = new ContactsView({
  client,
  people,
  myId: () => myId,
  onCall: (userId, media) => void callView.start(userId, media),
  onError: showError,
});
const history = new HistoryView(client, people, showError);
callView = new CallView({
  client,
  people,
  log,
  onError: showError,
  onEnded: (call: Call) => void history.waitFor(call.id),
});

// Connection state, always visible.
const badge = byId('connection');
const retry = byId<HTMLButtonElement>('retry');
function renderConnection(s: ConnectionSnapshot): void {
  badge.dataset.state = s.state;
  badge.dataset.attempt = String(s.attempt);
  let text: string = s.state;
  if (s.state === 'reconnecting') {
    const wait = s.nextRetryAt ? Math.max(0, Math.ceil((s.nextRetryAt - Date.now()) / 1000)) : 0;
    text = `reconnecting (try ${s.attempt}${wait ? `, in ${wait}s` : ''})`;
  }
  if (s.state === 'failed' && s.lastError) text = `failed: ${s.lastError.code}`;
  badge.textContent = text;
  badge.title = s.lastError ? `${s.lastError.code}: ${s.lastError.message}` : '';
  show(retry, s.state === 'reconnecting' || s.state === 'failed');
}
client.on('connection', (s) => {
  log('connection', s.state);
  renderConnection(s);
  if (s.state === 'connected') void contacts.load();
});
setInterval(() => renderConnection(client.connection), 1000);
retry.addEventListener('click', () => client.signaling.retryNow());

// Signing in and out.
const signIn = byId('sign-in');
const home = byId('home');
const signOut = byId<HTMLButtonElement>('sign-out');

async function enter(): Promise<void> {
  try {
    const me = await client.auth.me();
    myId = me.id;
    byId('me').textContent = `${me.displayName}${me.kind === 'guest' ? ' (guest)' : ''}`;
    byId('my-id').textContent = me.id;
  } catch (err) {
    showError(err);
    leave();
    return;
  }
  show(signIn, false);
  show(home, true);
  show(signOut, true);
  client.connect();
  await Promise.all([contacts.load(), history.load()]);
}

function leave(): void {
  myId = null;
  client.disconnect();
  contacts.clear();
  history.clear();
  byId('me').textContent = '';
  show(home, false);
  show(signOut, false);
  show(signIn, true);
}

for (const tab of signIn.querySelectorAll<HTMLButtonElement>('[data-tab]')) {
  tab.addEventListener('click', () => {
    for (const t of signIn.querySelectorAll<HTMLButtonElement>('[data-tab]'))
      t.classList.toggle('active', t === tab);
    for (const f of signIn.querySelectorAll<HTMLFormElement>('[data-form]'))
      show(f, f.dataset.form === tab.dataset.tab);
  });
}
for (const form of signIn.querySelectorAll<HTMLFormElement>('[data-form]')) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form)) as Record<string, string>;
    const button = form.querySelector('button');
    if (button) button.disabled = true;
    try {
      if (form.dataset.form === 'guest') await client.auth.guest(data.displayName ?? '');
      else if (form.dataset.form === 'login')
        await client.auth.login({ username: data.username ?? '', password: data.password ?? '' });
      else
        await client.auth.register({
          username: data.username ?? '',
          password: data.password ?? '',
          displayName: data.displayName ?? '',
        });
      form.reset();
      await enter();
    } catch (err) {
      showError(err);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

signOut.addEventListener('click', async () => {
  await client.signOut();
  leave();
});
client.on('session-lost', () => {
  showError(new Error('Your session expired: sign in again.'));
  leave();
});
client.on('session-revoked', (p) => {
  showError(new Error(`Signed out by the server (${p.reason}).`));
  client.rest.setTokens(null);
  leave();
});

interface CandidateInfo {
  candidateType: string;
  protocol: string;
  /** For a relay candidate, how this end reaches the TURN server: udp, tcp or tls. */
  relayProtocol?: string;
  address: string;
  port: number;
}

/** The ICE candidate pair media uses now (both ends' types: host, srflx, prflx or relay), from getStats. */
async function selectedCandidatePair(): Promise<{
  state: string;
  local: CandidateInfo;
  remote: CandidateInfo;
} | null> {
  const pc = callView.session?.pc;
  if (!pc) return null;
  const stats = await pc.getStats();
  let pairId: string | undefined;
  stats.forEach((s) => {
    if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
  });
  const pair = pairId ? stats.get(pairId) : undefined;
  if (!pair) return null;
  const candidate = (id: string): CandidateInfo => {
    const c = stats.get(id) ?? {};
    return {
      candidateType: c.candidateType,
      protocol: c.protocol,
      relayProtocol: c.relayProtocol,
      address: c.address,
      port: c.port,
    };
  };
  return {
    state: pair.state,
    local: candidate(pair.localCandidateId),
    remote: candidate(pair.remoteCandidateId),
  };
}

const recordingView = new RecordingView({
  client,
  call: () => callView.call,
  session: () => callView.session,
  log,
});

// A handle for the console and the end-to-end tests.
Object.assign(window, {
  voipDemo: {
    client,
    events,
    call: () => callView.call,
    peerConnectionState: () => callView.session?.pc?.connectionState ?? null,
    /** Inbound media of the call: peer to peer, plus the media server's room while recording. */
    inboundStats: async () => [
      ...((await callView.session?.inboundStats()) ?? []),
      ...((await recordingView.media?.inboundStats()) ?? []),
    ],
    /** The room's subscriber connection state while recording (null otherwise). */
    recordingConnectionState: () => recordingView.media?.sub?.connectionState ?? null,
    recordingId: () => recordingView.recordingId,
    rtcConfig: () => callView.session?.pc?.getConfiguration() ?? null,
    /** The current call's local tracks (read-only copies): what mute and camera off change. */
    localTracks: () => {
      const pc = callView.session?.pc;
      const sent = new Set(pc?.getSenders().map((s) => s.track) ?? []);
      return (callView.session?.localStream?.getTracks() ?? []).map((t) => ({
        kind: t.kind,
        enabled: t.enabled,
        readyState: t.readyState,
        sent: sent.has(t),
      }));
    },
    selectedCandidatePair,
    /** The current call's sending step (null before the first sample, or without video). */
    qualityStep: () => callView.session?.quality?.step ?? null,
    /** Drops the signaling transport as a network failure would. */
    dropSignaling: () => client.signaling.dropTransport('TEST_DROP'),
  },
});

renderConnection(client.connection);
if (client.signedIn) void enter();
else leave();
