// Who may ring whom, and how often. The callee's `incomingCalls` setting (user service) decides who may
// ring at all; fixed windows in Redis bound ring attempts and wake-up pushes per caller→callee pair and,
// for callers the callee does not know, per callee, so a stranger (a free guest token) can neither ring
// a phone forever nor use up the allowance of the people the callee knows.
import type { PrincipalKind } from '@voip/contracts/common';
import type { IncomingCalls } from '@voip/contracts/users';
import { AppError } from '@voip/kit/errors';
import { type FixedWindow, hitAllOrNone } from '@voip/kit/rate-limit';
import type { Redis } from 'ioredis';

/** The setting of a callee that never chose one (the user service's default, for an older answer without it). */
export const defaultIncomingCalls = (kind: PrincipalKind | undefined): IncomingCalls =>
  kind === 'guest' ? 'everyone' : 'registered';

/** Whether `setting` lets this caller ring; `contact`: the callee has the caller among its contacts. */
export function mayRing(setting: IncomingCalls, caller: { kind: PrincipalKind; contact: boolean }): boolean {
  switch (setting) {
    case 'everyone':
      return true;
    case 'registered':
      return caller.contact || caller.kind !== 'guest';
    case 'contacts':
      return caller.contact;
    case 'nobody':
      return false;
  }
}

export interface RingLimitsConfig {
  windowMs: number;
  ringsPerPair: number;
  ringsPerCalleeFromStrangers: number;
  pushesPerPair: number;
  pushesPerCalleeFromStrangers: number;
}

export interface RingLimits {
  /** Counts a ring attempt; throws RATE_LIMITED (429, Retry-After) when a window is full. */
  ring(callerId: string, calleeId: string, known: boolean): Promise<void>;
  /** Counts a wake-up push; false (nothing counted) when a window is full: the call rings without it. */
  push(callerId: string, calleeId: string, known: boolean): Promise<boolean>;
}

export function createRingLimits(redis: Redis, c: RingLimitsConfig): RingLimits {
  const windows = (kind: 'ring' | 'push', callerId: string, calleeId: string, known: boolean) => {
    const pair = kind === 'ring' ? c.ringsPerPair : c.pushesPerPair;
    const callee = kind === 'ring' ? c.ringsPerCalleeFromStrangers : c.pushesPerCalleeFromStrangers;
    const w: FixedWindow[] = [{ scope: `${kind}-pair`, id: `${callerId}:${calleeId}`, limit: pair }];
    // Known callers do not draw on the strangers' allowance, so strangers cannot use it up for them.
    if (!known) w.push({ scope: `${kind}-callee-strangers`, id: calleeId, limit: callee });
    return w;
  };
  return {
    async ring(callerId, calleeId, known) {
      const decisions = await hitAllOrNone(redis, windows('ring', callerId, calleeId, known), c.windowMs);
      const refused = decisions.filter((d) => !d.allowed);
      if (refused.length === 0) return;
      const retryAfterSeconds = Math.max(
        1,
        Math.ceil(Math.max(...refused.map((d) => d.retryAfterMs)) / 1000),
      );
      throw new AppError('RATE_LIMITED', 'this person has been rung too often, try again later', {
        retryAfterSeconds,
      });
    },
    async push(callerId, calleeId, known) {
      const decisions = await hitAllOrNone(redis, windows('push', callerId, calleeId, known), c.windowMs);
      return decisions.every((d) => d.allowed);
    },
  };
}
