// The media service (apps/media, issue 18): call recording with both participants' consent, media through
// a Janus VideoRoom while recording, and the recordings themselves. REST under /api/media (through the
// gateway), socket events pushed by signaling from the bus (`recording.changed`). The flow and the states
// are described in apps/media/README.md; docs/RECORDING.md is the API extension.
import { type Static, Type } from '@sinclair/typebox';
import { Id, IsoDateTime, Nullable, OneOf } from './common.js';

const closed = { additionalProperties: false } as const;

/**
 * A recording's life: `requested` (one side asked, waiting for the other's consent) → `recording` (both
 * consented; media through Janus) → `processing` (Janus's files closed, janus-pp-rec running) → `ready`
 * (the file can be downloaded). Or `declined` (the other side said no), `cancelled` (the call ended or
 * the asker withdrew before consent), `failed` (the media server failed, or post-processing did), and
 * `deleted` (by a participant, an admin, or retention).
 */
export const RecordingState = OneOf(
  'requested', 'recording', 'processing', 'ready', 'declined', 'cancelled', 'failed', 'deleted',
);
export type RecordingState = Static<typeof RecordingState>;

/**
 * Why a recording stopped (`recording-stopped`): `stopped` (a participant stopped it), `call-ended`,
 * `declined` (the other participant refused consent), `cancelled` (the asker withdrew before the other
 * consented), `media-server-lost` (Janus went away mid-recording, or a participant's media never reached it:
 * back to P2P).
 */
export const RecordingStopReason = OneOf('stopped', 'call-ended', 'declined', 'cancelled', 'media-server-lost');
export type RecordingStopReason = Static<typeof RecordingStopReason>;

/**
 * Why a recording failed (`recording-failed`): `media-server-unavailable` (Janus was not reachable when
 * recording should start: nothing recorded, the call goes on P2P), `media-server-lost` (Janus went away
 * while recording), `post-processing-failed` (janus-pp-rec or ffmpeg could not turn Janus's files into a
 * playable one).
 */
export const RecordingFailReason = OneOf('media-server-unavailable', 'media-server-lost', 'post-processing-failed');
export type RecordingFailReason = Static<typeof RecordingFailReason>;

export const Recording = Type.Object({
  recordingId: Id,
  callId: Id,
  state: RecordingState,
  requestedBy: Id,
  requestedAt: IsoDateTime,
  /** Participants who consented (the asker consents by asking). */
  consentedBy: Type.Array(Id),
  startedAt: Nullable(IsoDateTime),
  stoppedAt: Nullable(IsoDateTime),
  stopReason: Nullable(RecordingStopReason),
  failReason: Nullable(RecordingFailReason),
  /** Of the finished file (`ready` only): what ffprobe measured, and its size. */
  durationMs: Nullable(Type.Integer({ minimum: 0 })),
  sizeBytes: Nullable(Type.Integer({ minimum: 0 })),
  /** When retention deletes it (`ready` only). */
  expiresAt: Nullable(IsoDateTime),
}, closed);
export type Recording = Static<typeof Recording>;

export const RecordingCallParams = Type.Object({ callId: Id }, closed);
export const RecordingParams = Type.Object({ recordingId: Id }, closed);

/** `POST /api/media/calls/:callId/recording`: ask to record (no body). 202 with the recording. */
export const AskRecordingResponse = Recording;
/** `POST /api/media/calls/:callId/recording/consent`: the other participant's answer. */
export const ConsentBody = Type.Object({ recordingId: Id, consent: Type.Boolean() }, closed);
/** `GET /api/media/calls/:callId/recordings`: every recording of the call (participants only). */
export const RecordingList = Type.Object({ items: Type.Array(Recording) }, closed);

/** A session description, as RTCPeerConnection gives it (non-trickle: every candidate inside). */
export const SessionDescription = Type.Object(
  {
    type: OneOf('offer', 'answer'),
    sdp: Type.String({ minLength: 1, maxLength: 64 * 1024 }),
  },
  closed,
);
export type SessionDescription = Static<typeof SessionDescription>;

/**
 * `POST /api/media/calls/:callId/recording/publish` `{recordingId, offer}` → `{answer}`: the participant's
 * send-only connection to the call's room (its camera and microphone, recorded).
 */
export const PublishBody = Type.Object({ recordingId: Id, offer: SessionDescription }, closed);
export const PublishResponse = Type.Object({ answer: SessionDescription }, closed);
/**
 * `POST /api/media/calls/:callId/recording/subscribe` `{recordingId}` → `{offer}` (409 INVALID_STATE until
 * the other side publishes), then `POST …/subscribe/answer` `{recordingId, answer}` → 204: the participant's
 * receive-only connection carrying the other side's media from the room.
 */
export const SubscribeBody = Type.Object({ recordingId: Id }, closed);
export const SubscribeResponse = Type.Object({ offer: SessionDescription }, closed);
export const SubscribeAnswerBody = Type.Object({ recordingId: Id, answer: SessionDescription }, closed);
/** `POST /api/media/calls/:callId/recording/stop` `{recordingId}` → the recording. */
export const StopRecordingBody = Type.Object({ recordingId: Id }, closed);

/** `POST /api/media/recordings/:recordingId/link` → a short-lived signed download link (participants only). */
export const RecordingLink = Type.Object(
  {
    /** Path under the public base URL; no bearer token needed while it is valid. */
    url: Type.String(),
    expiresAt: IsoDateTime,
  },
  closed,
);
export type RecordingLink = Static<typeof RecordingLink>;
/** `GET /api/media/recordings/:recordingId/file?exp=&sig=`: Nginx serves the file (X-Accel-Redirect). */
export const RecordingFileQuery = Type.Object(
  {
    exp: Type.String({ pattern: '^[0-9]{10,13}$', description: 'a Unix time in seconds or milliseconds' }),
    sig: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: "the link's signature (43 base64url characters)" }),
  },
  closed,
);

// Socket.io events, server → both participants' devices.
export const RecordingRequestedEvent = Type.Object(
  { callId: Id, recordingId: Id, requestedBy: Id, expiresAt: IsoDateTime },
  closed,
);
export const RecordingStartedEvent = Type.Object(
  { callId: Id, recordingId: Id, startedAt: IsoDateTime },
  closed,
);
export const RecordingStoppedEvent = Type.Object(
  { callId: Id, recordingId: Id, reason: RecordingStopReason, stoppedBy: Type.Optional(Id) },
  closed,
);
export const RecordingFailedEvent = Type.Object(
  { callId: Id, recordingId: Id, reason: RecordingFailReason },
  closed,
);
/** The finished file is there (after post-processing). */
export const RecordingReadyEvent = Type.Object(
  {
    callId: Id,
    recordingId: Id,
    durationMs: Type.Integer({ minimum: 0 }),
    sizeBytes: Type.Integer({ minimum: 0 }),
  },
  closed,
);

export const RecordingEvents = {
  'recording-requested': RecordingRequestedEvent,
  'recording-started': RecordingStartedEvent,
  'recording-stopped': RecordingStoppedEvent,
  'recording-failed': RecordingFailedEvent,
  'recording-ready': RecordingReadyEvent,
} as const;
export type RecordingEventName = keyof typeof RecordingEvents;
export type RecordingEventPayload<K extends RecordingEventName> = Static<(typeof RecordingEvents)[K]>;

/** Internal: the call service shows a call's recordings in `GET /api/calls/:id` from this. */
export const InternalRecordingsResponse = RecordingList;
