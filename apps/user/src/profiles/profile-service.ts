// The caller's own profile: made on first sight when the account event has not arrived yet, and
// updated with everything that must follow an update (DND mirror, sync feeds, user.updated).
import type { Principal } from '@voip/contracts/tokens';
import { AppError } from '@voip/kit/errors';
import type { UserDomain } from '../domain.js';
import { refreshReachMirror } from '../mirrors/reach-mirror.js';
import type { ProfilePatch, ProfileRecord } from './profile-repository.js';
import { toOwnProfile, toProfile } from './profile-view.js';

const fallbackName = (p: Principal) => (p.kind === 'guest' ? 'Guest' : 'User');

/** The caller's profile, created from the token's claims if the account event is still on its way. */
export async function ensureOwnProfile(domain: UserDomain, principal: Principal): Promise<ProfileRecord> {
  if (principal.kind === 'service') throw new AppError('FORBIDDEN', 'an account token is required');
  const existing = await domain.profiles.get(principal.id);
  if (existing) {
    // Admin is granted by auth at login: the token is the fresher word on user vs admin.
    if (existing.kind !== principal.kind && existing.kind !== 'guest' && principal.kind !== 'guest') {
      await domain.profiles.setKind(existing.id, principal.kind);
      await refreshReachMirror(domain, existing.id);
      return { ...existing, kind: principal.kind };
    }
    return existing;
  }
  const now = new Date();
  const { profile, inserted } = await domain.profiles.insertIfAbsent({
    id: principal.id,
    kind: principal.kind,
    displayName: principal.displayName?.trim() || fallbackName(principal),
    createdAt: now,
    provisional: true,
  });
  if (inserted) await refreshReachMirror(domain, principal.id);
  if (inserted)
    domain.log.info({ userId: principal.id }, 'profile created from token ahead of its account event');
  return profile;
}

/** Fans a change of public fields out to the feeds of everyone who has the user as a contact. */
async function announceToWatchers(domain: UserDomain, profile: ProfileRecord): Promise<void> {
  const owners = await domain.contacts.ownersOf(profile.id);
  // Having someone as a contact does not mean they accepted you: their login name stays theirs.
  const data = toProfile(profile, undefined, false);
  const BATCH = 20;
  for (let i = 0; i < owners.length; i += BATCH) {
    await Promise.all(
      owners
        .slice(i, i + BATCH)
        .map((ownerId) =>
          domain.changes.append(ownerId, { entity: 'profile', op: 'upsert', id: profile.id, data }),
        ),
    );
  }
}

export async function updateOwnProfile(
  domain: UserDomain,
  principal: Principal,
  patch: ProfilePatch,
): Promise<ProfileRecord> {
  await ensureOwnProfile(domain, principal);
  const updated = await domain.profiles.patch(principal.id, patch, new Date());
  if (!updated) throw new AppError('USER_NOT_FOUND', 'profile not found');
  if (patch.doNotDisturb !== undefined)
    await domain.mirrors.setDoNotDisturb(updated.id, updated.doNotDisturb);
  await refreshReachMirror(domain, updated.id);
  await domain.changes.append(updated.id, {
    entity: 'profile',
    op: 'upsert',
    id: updated.id,
    data: toOwnProfile(updated),
  });
  if (patch.displayName !== undefined || patch.avatarUrl !== undefined)
    await announceToWatchers(domain, updated);
  // Pub/sub may lose it: it only refreshes caches (names on incoming calls), which expire anyway.
  await domain.bus
    .publish('user.updated', { userId: updated.id, displayName: updated.displayName })
    .catch((err: unknown) => domain.log.warn({ err }, 'user.updated not published'));
  return updated;
}
