// Reactions to the account stream (auth's user.registered, guest.created, guest.deleted): profiles
// are made idempotently, so a message delivered twice (or after a lazy profile) changes nothing more.
import type { BusEnvelope } from '@voip/bus/envelope';
import type { UserDomain } from '../domain.js';
import { refreshReachMirror } from '../mirrors/reach-mirror.js';
import type { NewProfile } from '../profiles/profile-repository.js';
import { removeGuests } from './guest-removal.js';

export type AccountEvent = BusEnvelope<'user.registered' | 'guest.created' | 'guest.deleted'>;

/** The profile an event announces: inserted, or a provisional (lazy) one completed; then its reach mirror. */
async function makeProfile(domain: UserDomain, p: NewProfile): Promise<void> {
  const { inserted, profile } = await domain.profiles.insertIfAbsent(p);
  if (!inserted && profile.provisional) await domain.profiles.completeFromEvent(p);
  // Idempotent like the rest: a repeat rewrites the same mirror. Not awaited: the account stream is read
  // by one consumer, in order, and a burst of sign-ups must not wait behind each other's mirror rounds
  // (the profile is what makes the user callable; a reader that misses the mirror asks this service,
  // which answers from MongoDB and repairs it).
  void refreshReachMirror(domain, p.id).catch((err: unknown) =>
    domain.log.warn({ err, userId: p.id }, 'reach mirror refresh after an account event failed'),
  );
}

export async function applyAccountEvent(domain: UserDomain, event: AccountEvent): Promise<void> {
  switch (event.type) {
    case 'user.registered': {
      await makeProfile(domain, {
        id: event.data.userId,
        kind: 'user',
        username: event.data.username,
        displayName: event.data.displayName,
        createdAt: new Date(event.data.createdAt),
      });
      return;
    }
    case 'guest.created': {
      await makeProfile(domain, {
        id: event.data.guestId,
        kind: 'guest',
        displayName: event.data.displayName,
        createdAt: new Date(event.data.createdAt),
      });
      return;
    }
    case 'guest.deleted': {
      const removed = await removeGuests(domain, event.data.guestIds);
      domain.log.info(
        { requested: event.data.guestIds.length, removed },
        'guests removed after guest.deleted',
      );
      return;
    }
  }
}
