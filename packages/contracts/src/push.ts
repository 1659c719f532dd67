// The push messages a phone receives when it has no socket: the wake-up that makes it ring and the
// cancel that makes it stop. They travel as FCM `data` (every value a string), so the schemas are flat
// string maps; the app's FirebaseMessagingService parses them (packages/android-client does it for Java).
import { type Static, Type } from '@sinclair/typebox';
import { EndReason, Media } from './calls.js';
import { Id, IsoDateTime, OneOf } from './common.js';

/** `data.type` of each push; an app ignores types it does not know (later versions may add some). */
export const PushType = OneOf('incoming-call', 'call-cancelled');
export type PushType = Static<typeof PushType>;

/** Sent to every registered device of a callee with no connected device when a call starts ringing. */
export const WakeUpPush = Type.Object(
  {
    type: Type.Literal('incoming-call'),
    callId: Id,
    callerId: Id,
    callerName: Type.String(),
    media: Media,
    /** When the call stops ringing: a phone that gets this later must not ring at all. */
    expiresAt: IsoDateTime,
  },
  { additionalProperties: false },
);
export type WakeUpPush = Static<typeof WakeUpPush>;

/** Why a ringing phone must stop: the call's end reason, or `answered-elsewhere` (another device took it). */
export const CancelReason = Type.Union([...EndReason.anyOf, Type.Literal('answered-elsewhere')]);
export type CancelReason = Static<typeof CancelReason>;

/**
 * Sent to the devices a wake-up reached when the call is answered elsewhere, cancelled, rejected or
 * stops ringing before they connect (a device with a connected socket hears it there instead).
 */
export const CancelPush = Type.Object(
  {
    type: Type.Literal('call-cancelled'),
    callId: Id,
    reason: CancelReason,
    /** After this a cancel is pointless (the wake-up's own `expiresAt` has long passed). */
    expiresAt: IsoDateTime,
  },
  { additionalProperties: false },
);
export type CancelPush = Static<typeof CancelPush>;

export const PushSchemas = { 'incoming-call': WakeUpPush, 'call-cancelled': CancelPush } as const;

/**
 * Delivery rules the provider applies to both (FCM v1): data only (the app draws its own call UI),
 * Android priority HIGH, TTL = seconds until `expiresAt` (0 when past: deliver now or never).
 * A cancel lives this long after it is sent, so a phone that comes back online within it stops ringing.
 */
export const CANCEL_PUSH_TTL_MS = 60_000;
