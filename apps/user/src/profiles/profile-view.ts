// Profile records as the API shows them: the public Profile (anyone) and the OwnProfile (the owner).
import type { Presence, Profile } from '@voip/contracts/users';
import type { ProfileRecord } from './profile-repository.js';

export function toProfile(p: ProfileRecord, presence?: Presence): Profile {
  return {
    id: p.id,
    ...(p.username ? { username: p.username } : {}),
    displayName: p.displayName,
    avatarUrl: p.avatarUrl,
    kind: p.kind,
    ...(presence ? { presence } : {}),
  };
}

export interface OwnProfileView extends Profile {
  doNotDisturb: boolean;
  createdAt: string;
  updatedAt: string;
}

export function toOwnProfile(p: ProfileRecord): OwnProfileView {
  return {
    ...toProfile(p),
    doNotDisturb: p.doNotDisturb,
    createdAt: p.createdAt.toISOString(),
    updatedAt: p.updatedAt.toISOString(),
  };
}
