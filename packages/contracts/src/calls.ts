// REST DTOs of the call service (/api/calls) and the call vocabulary shared with signaling.
import { type Static, Type } from '@sinclair/typebox';
import { Id, IsoDateTime, Nullable, OneOf } from './common.js';
import { Recording } from './media.js';
import { CallQuality } from './quality.js';

export const Media = OneOf('audio', 'video');
export type Media = Static<typeof Media>;
export const CallState = OneOf('ringing', 'accepted', 'ended');
export type CallState = Static<typeof CallState>;
export const CallOutcome = OneOf('answered', 'missed', 'rejected', 'busy', 'cancelled', 'failed');
export type CallOutcome = Static<typeof CallOutcome>;
export const EndReason = OneOf('hangup', 'cancelled', 'no-answer', 'rejected', 'busy', 'connection-lost', 'failed');
export type EndReason = Static<typeof EndReason>;

export const IceServer = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
}, { additionalProperties: false });
export type IceServer = Static<typeof IceServer>;

export const InitiateCallBody = Type.Object({ calleeId: Id, media: Media }, { additionalProperties: false });
export type InitiateCallBody = Static<typeof InitiateCallBody>;
export const InitiateCallResponse = Type.Object({
  callId: Id,
  state: CallState,
  iceServers: Type.Array(IceServer),
  expiresAt: IsoDateTime,
  replacedBy: Type.Optional(Id),
}, { additionalProperties: false });
export type InitiateCallResponse = Static<typeof InitiateCallResponse>;

export const CallParams = Type.Object({ callId: Id }, { additionalProperties: false });
export const Call = Type.Object({
  callId: Id,
  callerId: Id,
  calleeId: Id,
  media: Media,
  state: CallState,
  createdAt: IsoDateTime,
  expiresAt: Type.Optional(IsoDateTime),
  answeredAt: Nullable(IsoDateTime),
  endedAt: Nullable(IsoDateTime),
  endReason: Nullable(EndReason),
  outcome: Nullable(CallOutcome),
  durationMs: Nullable(Type.Integer({ minimum: 0 })),
  replacedBy: Type.Optional(Id),
  push: Type.Optional(OneOf('sent', 'failed', 'none', 'pending')),
  /** Media quality per side (issue 19), once a side has sent a `call-quality` summary. */
  quality: Type.Optional(CallQuality),
  /** The call's recordings (issue 18), when the media service runs and any were asked for. */
  recordings: Type.Optional(Type.Array(Recording)),
}, { additionalProperties: false });
export type Call = Static<typeof Call>;

export const HistoryItem = Type.Object({
  callId: Id,
  direction: OneOf('outgoing', 'incoming'),
  peerId: Id,
  media: Media,
  outcome: CallOutcome,
  startedAt: IsoDateTime,
  answeredAt: Nullable(IsoDateTime),
  endedAt: IsoDateTime,
  durationMs: Type.Integer({ minimum: 0 }),
  endReason: EndReason,
}, { additionalProperties: false });
export type HistoryItem = Static<typeof HistoryItem>;
export const HistoryResponse = Type.Object({ items: Type.Array(HistoryItem), nextCursor: Nullable(Type.String()) }, { additionalProperties: false });

export const IceServersQuery = Type.Object({ callId: Type.Optional(Id) }, { additionalProperties: false });
export const IceServersResponse = Type.Object({ iceServers: Type.Array(IceServer), ttlSeconds: Type.Integer() }, { additionalProperties: false });
