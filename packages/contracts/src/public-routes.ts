// The public REST surface of API.md as data: every route the gateway forwards, with the contract
// schemas it speaks. The gateway generates its OpenAPI document and its list of routes that need no
// token from these rows, and each service's tests compare the routes it registers under /api with its
// rows (method, path, schemas, success status), so neither side can drift from the other. It lives
// here rather than in the gateway because both the gateway and the services read it (apps never
// import apps).
// Over ~400 lines on purpose: one row per public route (45), a table read top to bottom; split
// by service, the rows that must agree (paths, token-free routes) would sit in several files.
import { type TSchema, Type } from '@sinclair/typebox';
import * as auth from './auth.js';
import * as calls from './calls.js';
import { CursorQuery, ErrorBody } from './common.js';
import * as media from './media.js';
import { WorstCallsQuery, WorstCallsResponse } from './quality.js';
import * as users from './users.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type PublicService = 'auth' | 'users' | 'calls' | 'media';

/**
 * `none`: anyone; `bearer`: any access token; `admin`: an admin token (the service enforces it; the
 * internal credential is accepted too, but only on a service's own port: the gateway strips it).
 */
export type RouteAccess = 'none' | 'bearer' | 'admin';

export interface PublicRoute {
  method: HttpMethod;
  /** Fastify path syntax (`:param`). */
  url: string;
  service: PublicService;
  summary: string;
  access: RouteAccess;
  schema: {
    params?: TSchema;
    querystring?: TSchema;
    body?: TSchema;
    response: Record<number, TSchema>;
  };
}

/** The API.md error shape, by reference: the document carries ErrorBody once, as a component. */
const Err = Type.Ref(ErrorBody);
const errors = (...statuses: number[]) => Object.fromEntries(statuses.map((s) => [s, Err]));
const NoContent = Type.Null({ description: 'No content' });
const standard = [401, 429, 503];

export const SERVICE_PREFIXES: Record<PublicService, string> = {
  auth: '/api/auth',
  users: '/api/users',
  calls: '/api/calls',
  media: '/api/media',
};

export const publicRoutes: readonly PublicRoute[] = [
  // Auth service.
  {
    method: 'POST',
    url: '/api/auth/register',
    service: 'auth',
    access: 'none',
    summary: 'Create an account and a session',
    schema: { body: auth.RegisterBody, response: { 201: auth.AuthResponse, ...errors(400, 409, 429, 503) } },
  },
  {
    method: 'POST',
    url: '/api/auth/login',
    service: 'auth',
    access: 'none',
    summary: 'Log in; same 401 for an unknown user and a wrong password',
    schema: { body: auth.LoginBody, response: { 200: auth.AuthResponse, ...errors(400, 401, 429, 503) } },
  },
  {
    method: 'POST',
    url: '/api/auth/refresh',
    service: 'auth',
    access: 'none',
    summary: 'Rotate a refresh token for a new pair; re-use of a used one revokes the session',
    schema: { body: auth.RefreshBody, response: { 200: auth.TokenPair, ...errors(400, 401, 429, 503) } },
  },
  {
    method: 'POST',
    url: '/api/auth/guest',
    service: 'auth',
    access: 'none',
    summary: 'Create a guest and a session',
    schema: { body: auth.GuestBody, response: { 201: auth.GuestResponse, ...errors(400, 429, 503) } },
  },
  {
    method: 'POST',
    url: '/api/auth/logout',
    service: 'auth',
    access: 'bearer',
    summary: 'Revoke the current session (its sockets are disconnected)',
    schema: { response: { 204: NoContent, ...errors(...standard) } },
  },
  {
    method: 'POST',
    url: '/api/auth/logout-all',
    service: 'auth',
    access: 'bearer',
    summary: "Sign out everywhere: revoke every session of the caller's account, this one included",
    schema: { response: { 204: NoContent, ...errors(...standard) } },
  },
  {
    method: 'GET',
    url: '/api/auth/me',
    service: 'auth',
    access: 'bearer',
    summary: 'The caller, as the token says',
    schema: { response: { 200: auth.MeResponse, ...errors(404, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/auth/guest/cleanup-all',
    service: 'auth',
    access: 'admin',
    summary: 'Delete every guest (admin)',
    schema: { response: { 200: auth.DeletedCount, ...errors(403, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/auth/guest/cleanup',
    service: 'auth',
    access: 'admin',
    summary: 'Delete guests created before a time (admin)',
    schema: {
      querystring: auth.CleanupBeforeQuery,
      response: { 200: auth.DeletedCount, ...errors(400, 403, ...standard) },
    },
  },
  {
    method: 'DELETE',
    url: '/api/auth/guest/:guestId',
    service: 'auth',
    access: 'admin',
    summary: 'Delete one guest (admin)',
    schema: { params: auth.GuestIdParams, response: { 200: auth.DeletedCount, ...errors(400, 403, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/auth/sessions/:sessionId',
    service: 'auth',
    access: 'admin',
    summary: 'Revoke one session; its sockets are disconnected (admin; an unknown session is `{revoked: 0}`)',
    schema: {
      params: auth.SessionIdParams,
      response: { 200: auth.RevokedCount, ...errors(400, 403, ...standard) },
    },
  },
  {
    method: 'DELETE',
    url: '/api/auth/users/:userId/sessions',
    service: 'auth',
    access: 'admin',
    summary: 'Revoke every session of a user or guest; their sockets are disconnected (admin)',
    schema: {
      params: auth.SessionOwnerParams,
      response: { 200: auth.RevokedCount, ...errors(400, 403, ...standard) },
    },
  },
  // User service.
  {
    method: 'GET',
    url: '/api/users/me',
    service: 'users',
    access: 'bearer',
    summary: 'Own profile',
    schema: { response: { 200: users.OwnProfile, ...errors(403, ...standard) } },
  },
  {
    method: 'PATCH',
    url: '/api/users/me',
    service: 'users',
    access: 'bearer',
    summary: 'Change display name, avatar or do-not-disturb',
    schema: { body: users.PatchMeBody, response: { 200: users.OwnProfile, ...errors(400, 403, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/users/search',
    service: 'users',
    access: 'bearer',
    summary: 'Search by username or display name prefix (no guests unless asked)',
    schema: { querystring: users.SearchQuery, response: { 200: users.SearchResponse, ...errors(400, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/users/presence',
    service: 'users',
    access: 'bearer',
    summary: 'Presence of several users (`ids=a,b,c`)',
    schema: { querystring: users.PresenceQuery, response: { 200: users.PresenceMap, ...errors(400, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/users/me/contacts',
    service: 'users',
    access: 'bearer',
    summary: 'Own contacts with presence',
    schema: { response: { 200: users.ContactsResponse, ...errors(...standard) } },
  },
  {
    method: 'PUT',
    url: '/api/users/me/contacts/:userId',
    service: 'users',
    access: 'bearer',
    summary: 'Add a contact (idempotent)',
    schema: { params: users.UserIdParams, response: { 200: users.Contact, ...errors(400, 404, 409, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/users/me/contacts/:userId',
    service: 'users',
    access: 'bearer',
    summary: 'Remove a contact (idempotent)',
    schema: { params: users.UserIdParams, response: { 204: NoContent, ...errors(400, 404, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/users/me/blocks',
    service: 'users',
    access: 'bearer',
    summary: 'Users you have blocked',
    schema: { response: { 200: users.BlocksResponse, ...errors(...standard) } },
  },
  {
    method: 'PUT',
    url: '/api/users/me/blocks/:userId',
    service: 'users',
    access: 'bearer',
    summary: 'Block a user: their calls to you are refused with 403 (idempotent)',
    schema: { params: users.UserIdParams, response: { 200: users.Block, ...errors(400, 404, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/users/me/blocks/:userId',
    service: 'users',
    access: 'bearer',
    summary: 'Unblock a user',
    schema: { params: users.UserIdParams, response: { 204: NoContent, ...errors(400, 404, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/users/me/devices',
    service: 'users',
    access: 'bearer',
    summary: 'Your devices registered for push',
    schema: { response: { 200: users.DevicesResponse, ...errors(...standard) } },
  },
  {
    method: 'PUT',
    url: '/api/users/me/devices/:deviceId',
    service: 'users',
    access: 'bearer',
    summary: 'Register or update a device push token (a token moved here leaves its previous owner)',
    schema: {
      params: users.DeviceParams,
      body: users.PutDeviceBody,
      response: { 200: users.Device, ...errors(400, ...standard) },
    },
  },
  {
    method: 'DELETE',
    url: '/api/users/me/devices/:deviceId',
    service: 'users',
    access: 'bearer',
    summary: 'Forget a device',
    schema: { params: users.DeviceParams, response: { 204: NoContent, ...errors(400, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/users/guests/cleanup-all',
    service: 'users',
    access: 'admin',
    summary: 'Delete every guest profile (admin)',
    schema: { response: { 200: auth.DeletedCount, ...errors(403, ...standard) } },
  },
  {
    method: 'DELETE',
    url: '/api/users/guests/cleanup',
    service: 'users',
    access: 'admin',
    summary: 'Delete guest profiles created before a time (admin)',
    schema: {
      querystring: auth.CleanupBeforeQuery,
      response: { 200: auth.DeletedCount, ...errors(400, 403, ...standard) },
    },
  },
  {
    method: 'GET',
    url: '/api/users/sync/changes',
    service: 'users',
    access: 'bearer',
    summary: 'Everything that changed for the caller since a cursor (contacts, blocks, profile, calls)',
    schema: { querystring: users.SyncQuery, response: { 200: users.SyncResponse, ...errors(400, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/users/:id',
    service: 'users',
    access: 'bearer',
    summary: 'Public profile with presence',
    schema: { params: users.IdParams, response: { 200: users.Profile, ...errors(400, 404, ...standard) } },
  },
  // Call service.
  {
    method: 'POST',
    url: '/api/calls',
    service: 'calls',
    access: 'bearer',
    summary: 'Start a call (then send `call-user` on the socket)',
    schema: {
      body: calls.InitiateCallBody,
      response: { 201: calls.InitiateCallResponse, ...errors(400, 403, 404, 409, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/calls/initiate',
    service: 'calls',
    access: 'bearer',
    summary: 'Alias of POST /api/calls',
    schema: {
      body: calls.InitiateCallBody,
      response: { 201: calls.InitiateCallResponse, ...errors(400, 403, 404, 409, ...standard) },
    },
  },
  {
    method: 'GET',
    url: '/api/calls',
    service: 'calls',
    access: 'bearer',
    summary: "The caller's call history, newest first",
    schema: { querystring: CursorQuery, response: { 200: calls.HistoryResponse, ...errors(400, ...standard) } },
  },
  {
    method: 'GET',
    url: '/api/calls/ice-servers',
    service: 'calls',
    access: 'bearer',
    summary: 'STUN/TURN servers with time-limited credentials (scoped to a call when callId is given)',
    schema: {
      querystring: calls.IceServersQuery,
      response: { 200: calls.IceServersResponse, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'GET',
    url: '/api/calls/quality/worst',
    service: 'calls',
    access: 'admin',
    summary: 'The worst calls by estimated MOS that started in [from, to), worst first (admin)',
    schema: {
      querystring: WorstCallsQuery,
      response: { 200: WorstCallsResponse, ...errors(400, 403, ...standard) },
    },
  },
  {
    method: 'GET',
    url: '/api/calls/:callId',
    service: 'calls',
    access: 'bearer',
    summary: 'One call, for its participants only (anyone else gets 404, as for an unknown id)',
    schema: { params: calls.CallParams, response: { 200: calls.Call, ...errors(404, ...standard) } },
  },
  // Media service (issue 18): recording with both participants' consent; docs/RECORDING.md.
  {
    method: 'POST',
    url: '/api/media/calls/:callId/recording',
    service: 'media',
    access: 'bearer',
    summary:
      'Ask to record an answered call; the other participant is asked for consent (recording-requested)',
    schema: {
      params: media.RecordingCallParams,
      response: { 202: media.AskRecordingResponse, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/media/calls/:callId/recording/consent',
    service: 'media',
    access: 'bearer',
    summary: "The other participant's answer; with both consents the recording starts (recording-started)",
    schema: {
      params: media.RecordingCallParams,
      body: media.ConsentBody,
      response: { 200: media.Recording, ...errors(400, 403, 404, 409, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/media/calls/:callId/recording/stop',
    service: 'media',
    access: 'bearer',
    summary: 'Stop (or withdraw) a recording; either participant (recording-stopped)',
    schema: {
      params: media.RecordingCallParams,
      body: media.StopRecordingBody,
      response: { 200: media.Recording, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/media/calls/:callId/recording/publish',
    service: 'media',
    access: 'bearer',
    summary:
      "Send this participant's media to the call's room: an SDP offer (all candidates) for Janus's answer",
    schema: {
      params: media.RecordingCallParams,
      body: media.PublishBody,
      response: { 200: media.PublishResponse, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/media/calls/:callId/recording/subscribe',
    service: 'media',
    access: 'bearer',
    summary:
      "Receive the other participant's media from the room: Janus's SDP offer (409 until they publish)",
    schema: {
      params: media.RecordingCallParams,
      body: media.SubscribeBody,
      response: { 200: media.SubscribeResponse, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/media/calls/:callId/recording/subscribe/answer',
    service: 'media',
    access: 'bearer',
    summary: "The participant's SDP answer to the room's offer",
    schema: {
      params: media.RecordingCallParams,
      body: media.SubscribeAnswerBody,
      response: { 204: NoContent, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'GET',
    url: '/api/media/calls/:callId/recordings',
    service: 'media',
    access: 'bearer',
    summary: "A call's recordings, for its participants only",
    schema: {
      params: media.RecordingCallParams,
      response: { 200: media.RecordingList, ...errors(400, 404, ...standard) },
    },
  },
  {
    method: 'POST',
    url: '/api/media/recordings/:recordingId/link',
    service: 'media',
    access: 'bearer',
    summary: 'A short-lived signed download link for a ready recording (participants only)',
    schema: {
      params: media.RecordingParams,
      response: { 200: media.RecordingLink, ...errors(400, 404, 409, ...standard) },
    },
  },
  {
    method: 'GET',
    url: '/api/media/recordings/:recordingId/file',
    service: 'media',
    access: 'none',
    summary: 'The recording (video/webm), served by Nginx for a valid signed link; 403 otherwise',
    schema: {
      params: media.RecordingParams,
      querystring: media.RecordingFileQuery,
      response: { 200: Type.Any({ description: 'video/webm' }), ...errors(400, 403, 404, 429, 503) },
    },
  },
  {
    method: 'DELETE',
    url: '/api/media/recordings/:recordingId',
    service: 'media',
    access: 'bearer',
    summary: 'Delete a recording and its file (a participant, or an admin)',
    schema: { params: media.RecordingParams, response: { 204: NoContent, ...errors(400, 403, 404, ...standard) } },
  },
];
