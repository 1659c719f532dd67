// Profile records as the API shows them: the public Profile (anyone) and the OwnProfile (the owner).
import type { PrincipalKind } from '@voip/contracts/common';
import type { IncomingCalls, Presence, Profile } from '@voip/contracts/users';
import type { ProfileRecord } from './profile-repository.js';

/** A user who never chose: accounts take calls from registered accounts and invited guests; guests from anyone. */
export const defaultIncomingCalls = (kind: PrincipalKind): IncomingCalls =>
  kind === 'guest' ? 'everyone' : 'registered';

export const incomingCallsOf = (p: ProfileRecord): IncomingCalls =>
  p.incomingCalls ?? defaultIncomingCalls(p.kind);

/**
 * The profile as someone sees it. `known`: the owner has accepted the viewer as a contact (or is the
 * viewer); only then are the login name and presence shown. Everyone else (guests, strangers) sees what a
 * calling app must show: id, display name, avatar, kind.
 */
export function toProfile(p: ProfileRecord, presence?: Presence, known = true): Profile {
  return {
    id: p.id,
    ...(p.username && known ? { username: p.username } : {}),
    displayName: p.displayName,
    avatarUrl: p.avatarUrl,
    kind: p.kind,
    ...(presence && known ? { presence } : {}),
  };
}

export interface OwnProfileView extends Profile {
  doNotDisturb: boolean;
  incomingCalls: IncomingCalls;
  createdAt: string;
  updatedAt: string;
}

export function toOwnProfile(p: ProfileRecord): OwnProfileView {
  return {
    ...toProfile(p),
    doNotDisturb: p.doNotDisturb,
    incomingCalls: incomingCallsOf(p),
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
