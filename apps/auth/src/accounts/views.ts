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

/** `kind` is what the caller's token grants, which is what every service acts on. */
export function userMe(
  user: UserRecord,
  sessionId: string,
  kind: MeResponse['kind'] = user.kind,
): MeResponse {
  return { ...toAuthUser(user), kind, sessionId };
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
