// Service-to-service HTTP routes (under /internal, never routed by Nginx or the gateway), called with
// the internal credential header (INTERNAL_TOKEN_HEADER from tokens.ts).
import { type Static, Type } from '@sinclair/typebox';
import { Id, PrincipalKind } from './common.js';
import { DevicePlatform, IncomingCalls } from './users.js';

/** GET {USER_SERVICE_URL}/internal/users/:userId/reachability?callerId=… (user service). */
export const ReachabilityQuery = Type.Object({ callerId: Id }, { additionalProperties: false });
export const Reachability = Type.Object({
  exists: Type.Boolean(),
  kind: Type.Optional(PrincipalKind),
  displayName: Type.Optional(Type.String()),
  /** the callee has blocked the caller */
  blocked: Type.Boolean(),
  doNotDisturb: Type.Boolean(),
  /** The callee's setting (its default when never set); the call service decides with the caller's kind. */
  incomingCalls: Type.Optional(IncomingCalls),
  /** The callee has the caller among its contacts (an invited guest, a known person). */
  contact: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });
export type Reachability = Static<typeof Reachability>;

/** GET {USER_SERVICE_URL}/internal/users/:userId/devices (user service): push targets. */
export const PushDevices = Type.Object({
  devices: Type.Array(Type.Object({ deviceId: Type.String(), platform: DevicePlatform, pushToken: Type.String() }, { additionalProperties: false })),
}, { additionalProperties: false });
export type PushDevices = Static<typeof PushDevices>;

/** POST {USER_SERVICE_URL}/internal/push-tokens/invalidate (user service): drop tokens the provider refused. */
export const InvalidatePushTokensBody = Type.Object(
  { pushTokens: Type.Array(Type.String({ minLength: 1, maxLength: 4096 }), { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
);
export const InvalidatePushTokensResponse = Type.Object({ removed: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
