// What clients see of an account: the stored records mapped onto the contracts' response shapes.
import type { AuthUser, MeResponse } from '@voip/contracts/auth';
import type { GuestRecord } from './guest-repository.js';
import type { UserRecord } from './user-repository.js';

export function toAuthUser(user: UserRecord): AuthUser {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    kind: user.kind,
    createdAt: user.createdAt.toISOString(),
  };
}

export function userMe(user: UserRecord, sessionId: string): MeResponse {
  return { ...toAuthUser(user), sessionId };
}

export function guestMe(guest: GuestRecord, sessionId: string): MeResponse {
  return {
    id: guest.id,
    kind: 'guest',
    displayName: guest.displayName,
    sessionId,
    createdAt: guest.createdAt.toISOString(),
  };
}
