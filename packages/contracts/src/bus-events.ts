// Every message that crosses the Redis bus: the envelope and each event type's data.
// Consumers only ever add types; a type they do not know is skipped, never a crash.
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { CallOutcome, EndReason, Media } from './calls.js';
import { Id, IsoDateTime, Nullable, OneOf, PrincipalKind } from './common.js';
import { RecordingEvents } from './media.js';
import { CallQualityPayload } from './quality.js';
import { PresenceStatus } from './users.js';

export const Envelope = Type.Object({
  v: Type.Literal(1),
  type: Type.String({ minLength: 1, maxLength: 100 }),
  id: Type.String({ minLength: 1, maxLength: 64 }),
  source: Type.String({ minLength: 1, maxLength: 128 }),
  at: IsoDateTime,
  data: Type.Unknown(),
});
export type Envelope<T = unknown> = Omit<Static<typeof Envelope>, 'data'> & { data: T };

export const CallEndedData = Type.Object({
  callId: Id,
  callerId: Id,
  calleeId: Id,
  media: Media,
  outcome: CallOutcome,
  endReason: EndReason,
  createdAt: IsoDateTime,
  answeredAt: Nullable(IsoDateTime),
  endedAt: IsoDateTime,
  durationMs: Type.Integer({ minimum: 0 }),
  endedBy: Type.Optional(Nullable(Id)),
  replacedBy: Type.Optional(Id),
});

export const BusEvents = {
  'user.registered': Type.Object({ userId: Id, username: Type.String(), displayName: Type.String(), createdAt: IsoDateTime }),
  'guest.created': Type.Object({ guestId: Id, displayName: Type.String(), createdAt: IsoDateTime }),
  'guest.deleted': Type.Object({ guestIds: Type.Array(Id) }),
  'session.revoked': Type.Object({ sessionId: Id, userId: Id, reason: Type.String() }),
  'call.created': Type.Object({ callId: Id, callerId: Id, calleeId: Id, media: Media, createdAt: IsoDateTime, expiresAt: IsoDateTime }),
  'call.accepted': Type.Object({ callId: Id, answeredAt: IsoDateTime, clientId: Type.Optional(Type.String()) }),
  'call.ended': CallEndedData,
  'presence.changed': Type.Object({ userId: Id, kind: Type.Optional(PrincipalKind), status: PresenceStatus, lastSeenAt: Nullable(IsoDateTime) }),
  'user.updated': Type.Object({ userId: Id, displayName: Type.Optional(Type.String()) }),
  /** One `call-quality` summary signaling accepted from the device carrying `side` (issue 19). */
  'call.quality': Type.Object({
    callId: Id,
    side: OneOf('caller', 'callee'),
    userId: Id,
    clientId: Type.String(),
    receivedAt: IsoDateTime,
    summary: CallQualityPayload,
  }),
  /**
   * A recording event (issue 18) for both participants' devices: signaling emits `event` with `payload`
   * (a RecordingEvents schema) to every device of `userIds`.
   */
  'recording.changed': Type.Object({
    userIds: Type.Array(Id, { minItems: 1, maxItems: 2 }),
    event: Type.Union(Object.keys(RecordingEvents).map((k) => Type.Literal(k))),
    payload: Type.Unknown(),
  }),
  /** A stopped recording to post-process (the media service's job stream; idempotent). */
  'recording.process': Type.Object({ recordingId: Id }),
} satisfies Record<string, TSchema>;
export type BusEventType = keyof typeof BusEvents;
export type BusEventData<K extends BusEventType> = Static<(typeof BusEvents)[K]>;
