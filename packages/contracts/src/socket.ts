// Socket.io events of API.md: payload schemas (validated by the server) and the typed event maps
// shared by apps/signaling and packages/client.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { EndReason, Media } from './calls.js';
import { Id, IsoDateTime, Nullable, OneOf, PrincipalKind } from './common.js';
import { RecordingEvents } from './media.js';
import { CallQualityPayload, PeerQualityEvent } from './quality.js';
import type { CallServerEventName, ClientEventName, ServerEventName } from './socket-events.js';
import { PresenceStatus } from './users.js';

const Sdp = Type.String({ minLength: 1, maxLength: 60_000 });
export const SessionDescription = Type.Object({
  type: OneOf('offer', 'answer', 'pranswer', 'rollback'),
  sdp: Type.String({ maxLength: 60_000 }),
}, { additionalProperties: false });
export const Offer = Type.Object({ type: Type.Literal('offer'), sdp: Sdp }, { additionalProperties: false });
export const Answer = Type.Object({ type: Type.Literal('answer'), sdp: Sdp }, { additionalProperties: false });
export const IceCandidate = Type.Object({
  candidate: Type.String({ maxLength: 2048 }),
  sdpMid: Type.Optional(Nullable(Type.String({ maxLength: 64 }))),
  sdpMLineIndex: Type.Optional(Nullable(Type.Integer({ minimum: 0, maximum: 1024 }))),
  usernameFragment: Type.Optional(Nullable(Type.String({ maxLength: 256 }))),
}, { additionalProperties: false });

export const HandshakeAuth = Type.Object({
  token: Type.String({ minLength: 1, maxLength: 4096 }),
  clientId: Type.String({ minLength: 8, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'letters, digits, _ or -' }),
  resumeToken: Type.Optional(Type.String({ maxLength: 512 })),
  /**
   * Opt-in to numbered delivery (API.md "Socket.io signaling", resume replay): the highest `seq` this device
   * has received in its session, 0 on a first connect. With it the server numbers the messages addressed to
   * this device and, on a resume, replays every one with a higher `seq`; without it nothing is numbered.
   */
  // Also as a string of digits: socket.io-client-java's handshake auth is a Map<String, String>.
  lastSeq: Type.Optional(Type.Union([
    Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    Type.String({ pattern: '^(0|[1-9][0-9]{0,14})$', description: 'a whole number of at most 15 digits' }),
  ])),
}, { additionalProperties: false });
export type HandshakeAuth = Static<typeof HandshakeAuth>;

// Client → server payloads.
export const CallUserPayload = Type.Object({ callId: Id, offer: Offer }, { additionalProperties: false });
export const AcceptCallPayload = Type.Object({ callId: Id, answer: Answer }, { additionalProperties: false });
export const RejectCallPayload = Type.Object(
  { callId: Id, reason: Type.Optional(OneOf('declined', 'busy')) },
  { additionalProperties: false },
);
export const IceCandidatePayload = Type.Object(
  { callId: Id, candidate: Nullable(IceCandidate) },
  { additionalProperties: false },
);
export const RenegotiatePayload = Type.Object({ callId: Id, description: SessionDescription }, { additionalProperties: false });
export const EndCallPayload = Type.Object(
  { callId: Id, reason: Type.Optional(OneOf('hangup', 'cancelled')) },
  { additionalProperties: false },
);
/** `lastSeq`: a cumulative ack of numbered delivery (see HandshakeAuth): the server forgets what it kept to replay up to it. */
export const HeartbeatPayload = Type.Object({
  lastSeq: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
}, { additionalProperties: false });

export const ClientEventSchemas = {
  'call-user': CallUserPayload,
  'accept-call': AcceptCallPayload,
  'reject-call': RejectCallPayload,
  'ice-candidate': IceCandidatePayload,
  renegotiate: RenegotiatePayload,
  'end-call': EndCallPayload,
  heartbeat: HeartbeatPayload,
  'call-quality': CallQualityPayload,
} as const satisfies Record<ClientEventName, TSchema>;
export type { CallServerEventName, ClientEventName, ServerEventName };

export type AckError = { ok: false; error: { code: string; message: string } };
export type Ack<T extends object = object> = ({ ok: true } & T) | AckError;

export interface ClientToServerEvents {
  'call-user': (p: Static<typeof CallUserPayload>, ack: (r: Ack) => void) => void;
  'accept-call': (p: Static<typeof AcceptCallPayload>, ack: (r: Ack) => void) => void;
  'reject-call': (p: Static<typeof RejectCallPayload>, ack: (r: Ack) => void) => void;
  'ice-candidate': (p: Static<typeof IceCandidatePayload>, ack: (r: Ack) => void) => void;
  renegotiate: (p: Static<typeof RenegotiatePayload>, ack: (r: Ack) => void) => void;
  'end-call': (p: Static<typeof EndCallPayload>, ack: (r: Ack) => void) => void;
  heartbeat: (p: Static<typeof HeartbeatPayload>, ack: (r: Ack<{ serverTime: string }>) => void) => void;
  'call-quality': (p: Static<typeof CallQualityPayload>, ack: (r: Ack) => void) => void;
}

// Server → client payloads.
export const SessionEvent = Type.Object({
  sessionId: Type.String(),
  resumeToken: Type.String(),
  resumeWindowMs: Type.Integer(),
  heartbeatIntervalMs: Type.Integer(),
  resumed: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export const IncomingCallEvent = Type.Object({
  callId: Id,
  from: Type.Object({ id: Id, displayName: Type.String(), kind: PrincipalKind }, { additionalProperties: false }),
  media: Media,
  offer: Offer,
  expiresAt: IsoDateTime,
}, { additionalProperties: false });
/**
 * Per-device sequence number of a message addressed to one device, only for a device that sent `lastSeq` in
 * its handshake: increasing within its session, kept across resumes, from 1 again in a fresh session
 * (`resumed: false`). A client drops a `seq` it already has.
 */
const Seq = Type.Optional(Type.Integer({ minimum: 1 }));
export const CallIdEvent = Type.Object({ callId: Id, seq: Seq }, { additionalProperties: false });
export const CallAcceptedEvent = Type.Object({ callId: Id, answer: Answer, seq: Seq }, { additionalProperties: false });
export const CallRejectedEvent = Type.Object({ callId: Id, reason: Type.String() }, { additionalProperties: false });
export const IceCandidateEvent = Type.Object({ callId: Id, candidate: Nullable(IceCandidate), seq: Seq }, { additionalProperties: false });
export const RenegotiateEvent = Type.Object({ callId: Id, description: SessionDescription, seq: Seq }, { additionalProperties: false });
export const CallEndedEvent = Type.Object({
  callId: Id,
  reason: EndReason,
  durationMs: Type.Integer({ minimum: 0 }),
  replacedBy: Type.Optional(Id),
}, { additionalProperties: false });
export const PresenceEvent = Type.Object({ userId: Id, status: PresenceStatus, lastSeenAt: Type.Optional(Nullable(IsoDateTime)) }, { additionalProperties: false });
export const ServerShutdownEvent = Type.Object({ reconnectAfterMs: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
export const SessionRevokedEvent = Type.Object({ reason: Type.String() }, { additionalProperties: false });

export const ServerEventSchemas = {
  session: SessionEvent,
  'incoming-call': IncomingCallEvent,
  'call-ringing': CallIdEvent,
  'call-accepted': CallAcceptedEvent,
  'call-answered-elsewhere': CallIdEvent,
  'call-rejected': CallRejectedEvent,
  'ice-candidate': IceCandidateEvent,
  renegotiate: RenegotiateEvent,
  'call-ended': CallEndedEvent,
  'peer-reconnecting': CallIdEvent,
  'peer-reconnected': CallIdEvent,
  presence: PresenceEvent,
  'server-shutdown': ServerShutdownEvent,
  'session-revoked': SessionRevokedEvent,
  'peer-quality': PeerQualityEvent,
  /** Issue 18: recording with consent (apps/media, docs/RECORDING.md), to both participants' devices. */
  ...RecordingEvents,
} as const satisfies Record<ServerEventName, TSchema>;
type Payloads = { [K in keyof typeof ServerEventSchemas]: Static<(typeof ServerEventSchemas)[K]> };
export type ServerToClientEvents = { [K in keyof Payloads]: (p: Payloads[K]) => void };
export type ServerEventPayload<K extends ServerEventName> = Payloads[K];

/** connect_error `data.code` values. */
export const ConnectErrorCode = ['UNAUTHORIZED', 'TOKEN_EXPIRED', 'RATE_LIMITED', 'SESSION_REVOKED', 'OVERLOADED'] as const;
