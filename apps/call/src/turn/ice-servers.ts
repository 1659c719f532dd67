// Which ICE servers a participant gets, and with which TURN credentials, in the configured mode:
//   rest        coturn REST-API credentials (`expiry:callId:userId`), valid until they expire, nothing stored;
//   call-scoped a TURN user per participant and call in coturn's Redis user db, deleted at call.ended,
//               so new allocations are refused as soon as the call is over.
// In both, TURN is only for a participant of a live call (the caller checks that): without a call, STUN only.
import type { IceServer } from '@voip/contracts/calls';
import { coturnKeys } from '@voip/contracts/redis-keys';
import type { Redis } from 'ioredis';
import {
  callScopedPassword,
  callScopedUsername,
  coturnHmacKey,
  restCredential,
  restExpiry,
} from './credentials.js';

export type TurnMode = 'rest' | 'call-scoped';

export interface CallParticipants {
  callId: string;
  callerId: string;
  calleeId: string;
}

/** A live call TURN is issued for: REST credentials are windowed from its creation. */
export interface LiveCall extends CallParticipants {
  createdAt: string;
}

export interface IssuedIceServers {
  iceServers: IceServer[];
  /** How long the TURN credentials in it stay valid (the configured TTL when there are none). */
  ttlSeconds: number;
}

export interface IceServerIssuer {
  readonly mode: TurnMode;
  readonly ttlSeconds: number;
  /**
   * STUN servers, plus TURN with credentials for userId in `call` (the caller has checked that userId
   * takes part in it and that it is live); without a call, STUN only, in both modes.
   */
  issue(userId: string, call?: LiveCall): Promise<IssuedIceServers>;
  /** Deletes the call's TURN users (call-scoped mode; a no-op in REST mode). Idempotent. */
  revoke(call: CallParticipants): Promise<void>;
}

export interface IceServerIssuerOptions {
  mode: TurnMode;
  stunUrls: string[];
  turnUrls: string[];
  realm: string;
  secret?: string | undefined;
  ttlSeconds: number;
  /** coturn's Redis user db (call-scoped mode). */
  turnRedis?: Redis | undefined;
  now?: () => number;
}

export function createIceServerIssuer(opts: IceServerIssuerOptions): IceServerIssuer {
  const { mode, stunUrls, turnUrls, realm, secret, ttlSeconds, turnRedis } = opts;
  const now = opts.now ?? Date.now;
  const stun: IceServer[] = stunUrls.length ? [{ urls: stunUrls }] : [];
  const turnEnabled = turnUrls.length > 0 && Boolean(secret);
  if (turnEnabled && mode === 'call-scoped' && !turnRedis)
    throw new Error('call-scoped TURN needs the coturn Redis user db');

  const userKey = (call: CallParticipants, userId: string) =>
    coturnKeys.userKey(realm, callScopedUsername(call.callId, userId));

  return {
    mode,
    ttlSeconds,
    async issue(userId, call) {
      if (!turnEnabled || !secret || !call) return { iceServers: stun, ttlSeconds };
      if (mode === 'rest') {
        const nowSec = Math.floor(now() / 1000);
        const createdSec = Math.floor(Date.parse(call.createdAt) / 1000);
        const expiry = restExpiry(Number.isNaN(createdSec) ? nowSec : createdSec, nowSec, ttlSeconds);
        const c = restCredential(secret, callScopedUsername(call.callId, userId), expiry);
        return {
          iceServers: [...stun, { urls: turnUrls, username: c.username, credential: c.credential }],
          ttlSeconds: expiry - nowSec,
        };
      }
      const username = callScopedUsername(call.callId, userId);
      const password = callScopedPassword(secret, username);
      // The expiry is only a safety net for a call.ended that never comes; revoke() is what ends it.
      await turnRedis!.set(userKey(call, userId), coturnHmacKey(username, realm, password), 'EX', ttlSeconds);
      return { iceServers: [...stun, { urls: turnUrls, username, credential: password }], ttlSeconds };
    },
    async revoke(call) {
      if (mode !== 'call-scoped' || !turnRedis) return;
      await turnRedis.del(userKey(call, call.callerId), userKey(call, call.calleeId));
    },
  };
}
