// Typed calls to every REST route of API.md, grouped as the services are (auth, users, calls). The
// payload and response types come from packages/contracts, the same schemas the services validate with.
import type { Static } from '@sinclair/typebox';
import type {
  AuthResponse,
  DeletedCount,
  GuestResponse,
  LoginBody,
  MeResponse,
  RegisterBody,
  RevokedCount,
} from '@voip/contracts/auth';
import type {
  Call,
  HistoryResponse,
  IceServersResponse,
  InitiateCallBody,
  InitiateCallResponse,
} from '@voip/contracts/calls';
import type {
  RecordingLink as RecordingLinkSchema,
  Recording as RecordingSchema,
} from '@voip/contracts/media';
import type {
  Block,
  BlocksResponse,
  Contact as ContactSchema,
  ContactsResponse,
  Device,
  DevicesResponse,
  OwnProfile,
  PatchMeBody,
  PresenceMap,
  Profile,
  PutDeviceBody,
  SearchResponse,
  SyncResponse,
} from '@voip/contracts/users';
import { type RestClient, tokensFromPair } from './rest-client.js';

export type Contacts = Static<typeof ContactsResponse>;
export type Contact = Static<typeof ContactSchema>;
export type Blocks = Static<typeof BlocksResponse>;
export type Devices = Static<typeof DevicesResponse>;
export type SearchResult = Static<typeof SearchResponse>;
export type PresenceById = Static<typeof PresenceMap>;
export type SyncResult = Static<typeof SyncResponse>;
export type History = Static<typeof HistoryResponse>;
export type IceServers = Static<typeof IceServersResponse>;

const seg = (s: string) => encodeURIComponent(s);

export class AuthApi {
  constructor(private readonly http: RestClient) {}

  async register(body: RegisterBody): Promise<AuthResponse> {
    const res = await this.http.request<AuthResponse>('POST', '/api/auth/register', { body, auth: false });
    this.http.setTokens(tokensFromPair(res));
    return res;
  }

  async login(body: LoginBody): Promise<AuthResponse> {
    const res = await this.http.request<AuthResponse>('POST', '/api/auth/login', { body, auth: false });
    this.http.setTokens(tokensFromPair(res));
    return res;
  }

  async guest(displayName: string): Promise<GuestResponse> {
    const res = await this.http.request<GuestResponse>('POST', '/api/auth/guest', {
      body: { displayName },
      auth: false,
    });
    this.http.setTokens(tokensFromPair(res));
    return res;
  }

  /** Rotates the token pair now (normally automatic). */
  refresh(): Promise<unknown> {
    return this.http.refresh();
  }

  /** Ends the session server-side (which also disconnects its sockets) and forgets the tokens. */
  logout(): Promise<void> {
    return this.#signOut('/api/auth/logout');
  }

  /** Signs this account out everywhere (every session, this one included) and forgets the tokens. */
  logoutAll(): Promise<void> {
    return this.#signOut('/api/auth/logout-all');
  }

  // Without tokens there is no session to end; with them, they are forgotten even when the call fails.
  async #signOut(path: '/api/auth/logout' | '/api/auth/logout-all'): Promise<void> {
    if (!this.http.tokens) return;
    try {
      await this.http.request<void>('POST', path);
    } finally {
      this.http.setTokens(null);
    }
  }

  me(): Promise<MeResponse> {
    return this.http.request('GET', '/api/auth/me');
  }
}

export class UsersApi {
  constructor(private readonly http: RestClient) {}

  me(): Promise<OwnProfile> {
    return this.http.request('GET', '/api/users/me');
  }
  updateMe(body: PatchMeBody): Promise<OwnProfile> {
    return this.http.request('PATCH', '/api/users/me', { body });
  }
  profile(userId: string): Promise<Profile> {
    return this.http.request('GET', `/api/users/${seg(userId)}`);
  }
  search(
    q: string,
    opts: { limit?: number; cursor?: string; includeGuests?: boolean } = {},
  ): Promise<SearchResult> {
    return this.http.request('GET', '/api/users/search', { query: { q, ...opts } });
  }
  presence(ids: string[]): Promise<PresenceById> {
    return this.http.request('GET', '/api/users/presence', { query: { ids: ids.join(',') } });
  }
  contacts(): Promise<Contacts> {
    return this.http.request('GET', '/api/users/me/contacts');
  }
  /** Idempotent; the contact's presence then flows to this user. */
  addContact(userId: string): Promise<Contact> {
    return this.http.request('PUT', `/api/users/me/contacts/${seg(userId)}`);
  }
  async removeContact(userId: string): Promise<void> {
    await this.http.request('DELETE', `/api/users/me/contacts/${seg(userId)}`);
  }
  blocks(): Promise<Blocks> {
    return this.http.request('GET', '/api/users/me/blocks');
  }
  block(userId: string): Promise<Static<typeof Block>> {
    return this.http.request('PUT', `/api/users/me/blocks/${seg(userId)}`);
  }
  async unblock(userId: string): Promise<void> {
    await this.http.request('DELETE', `/api/users/me/blocks/${seg(userId)}`);
  }
  devices(): Promise<Devices> {
    return this.http.request('GET', '/api/users/me/devices');
  }
  /** Registers (or updates) this device's push token, so calls can wake it. */
  putDevice(deviceId: string, body: PutDeviceBody): Promise<Static<typeof Device>> {
    return this.http.request('PUT', `/api/users/me/devices/${seg(deviceId)}`, { body });
  }
  async deleteDevice(deviceId: string): Promise<void> {
    await this.http.request('DELETE', `/api/users/me/devices/${seg(deviceId)}`);
  }
  /** Offline sync: pass the cursor of the previous answer to get only what changed since. */
  syncChanges(since?: string, limit?: number): Promise<SyncResult> {
    return this.http.request('GET', '/api/users/sync/changes', { query: { since, limit } });
  }
}

export class CallsApi {
  constructor(private readonly http: RestClient) {}

  initiate(body: InitiateCallBody): Promise<InitiateCallResponse> {
    return this.http.request('POST', '/api/calls', { body });
  }
  get(callId: string): Promise<Call> {
    return this.http.request('GET', `/api/calls/${seg(callId)}`);
  }
  /** The caller's history, newest first; pass `nextCursor` as `before` for the next page. */
  history(opts: { before?: string; limit?: number } = {}): Promise<History> {
    return this.http.request('GET', '/api/calls', { query: opts });
  }
  iceServers(callId?: string): Promise<IceServers> {
    return this.http.request('GET', '/api/calls/ice-servers', { query: { callId } });
  }
}

/**
 * Guest housekeeping for operators' tools (API.md: admin or internal credential only; a user or guest
 * token gets 403). The auth side removes guest accounts and their sessions, the user side their profiles.
 */
export class AdminApi {
  constructor(private readonly http: RestClient) {}

  /** Every guest account (auth), with its sessions. */
  deleteAllGuests(): Promise<DeletedCount> {
    return this.http.request('DELETE', '/api/auth/guest/cleanup-all');
  }
  /** Guest accounts not seen since `before`. */
  deleteGuestsBefore(before: Date | string): Promise<DeletedCount> {
    return this.http.request('DELETE', '/api/auth/guest/cleanup', { query: { before: iso(before) } });
  }
  deleteGuest(guestId: string): Promise<DeletedCount> {
    return this.http.request('DELETE', `/api/auth/guest/${seg(guestId)}`);
  }
  /** Ends one session (its sockets are disconnected); `{revoked: 0}` when it was already gone. */
  revokeSession(sessionId: string): Promise<RevokedCount> {
    return this.http.request('DELETE', `/api/auth/sessions/${seg(sessionId)}`);
  }
  /** Ends every session of a user. */
  revokeUserSessions(userId: string): Promise<RevokedCount> {
    return this.http.request('DELETE', `/api/auth/users/${seg(userId)}/sessions`);
  }
  /** Every guest profile (user service). */
  deleteAllGuestProfiles(): Promise<DeletedCount> {
    return this.http.request('DELETE', '/api/users/guests/cleanup-all');
  }
  /** Guest profiles created before `before`. */
  deleteGuestProfilesBefore(before: Date | string): Promise<DeletedCount> {
    return this.http.request('DELETE', '/api/users/guests/cleanup', { query: { before: iso(before) } });
  }
}

const iso = (t: Date | string) => (typeof t === 'string' ? t : t.toISOString());

type RecordingView = RecordingSchema;
type RecordingLinkView = RecordingLinkSchema;
type Sdp<T extends 'offer' | 'answer'> = { type: T; sdp: string };

/**
 * Call recording with both participants' consent (issue 18, apps/media/README.md): one side asks, the
 * other answers `consent`; with both, `recording-started` reaches both and each side publishes to and
 * subscribes from the call's room (RecordingMedia in webrtc.ts does that for a browser).
 */
export class RecordingsApi {
  constructor(private readonly http: RestClient) {}

  /** Ask to record an answered call: 202 with the recording (`requested`); the peer gets recording-requested. */
  ask(callId: string): Promise<RecordingView> {
    return this.http.request('POST', `/api/media/calls/${seg(callId)}/recording`);
  }
  /** The other participant's answer. */
  consent(callId: string, recordingId: string, consent: boolean): Promise<RecordingView> {
    return this.http.request('POST', `/api/media/calls/${seg(callId)}/recording/consent`, {
      body: { recordingId, consent },
    });
  }
  /** Stop (or withdraw) a recording; either participant. */
  stop(callId: string, recordingId: string): Promise<RecordingView> {
    return this.http.request('POST', `/api/media/calls/${seg(callId)}/recording/stop`, {
      body: { recordingId },
    });
  }
  publish(callId: string, recordingId: string, offer: Sdp<'offer'>): Promise<{ answer: Sdp<'answer'> }> {
    return this.http.request('POST', `/api/media/calls/${seg(callId)}/recording/publish`, {
      body: { recordingId, offer },
    });
  }
  /** 409 INVALID_STATE until the other side publishes: retry. */
  subscribe(callId: string, recordingId: string): Promise<{ offer: Sdp<'offer'> }> {
    return this.http.request('POST', `/api/media/calls/${seg(callId)}/recording/subscribe`, {
      body: { recordingId },
    });
  }
  async answerSubscription(callId: string, recordingId: string, answer: Sdp<'answer'>): Promise<void> {
    await this.http.request('POST', `/api/media/calls/${seg(callId)}/recording/subscribe/answer`, {
      body: { recordingId, answer },
    });
  }
  list(callId: string): Promise<{ items: RecordingView[] }> {
    return this.http.request('GET', `/api/media/calls/${seg(callId)}/recordings`);
  }
  /** A short-lived signed link (a path under the base URL) to download a `ready` recording. */
  link(recordingId: string): Promise<RecordingLinkView> {
    return this.http.request('POST', `/api/media/recordings/${seg(recordingId)}/link`);
  }
  async delete(recordingId: string): Promise<void> {
    await this.http.request('DELETE', `/api/media/recordings/${seg(recordingId)}`);
  }
}
