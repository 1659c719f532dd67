// Durable account events on streams.accountEvents (consumed by the user service and signaling).
// Streams, not pub/sub: a consumer that is down must still learn of every account and deletion.
import type { StreamProducer } from '@voip/bus/streams';
import { streams } from '@voip/contracts/redis-keys';
import type { GuestRecord } from './guest-repository.js';
import type { UserRecord } from './user-repository.js';

export interface AccountEvents {
  userRegistered(user: UserRecord): Promise<void>;
  guestCreated(guest: GuestRecord): Promise<void>;
  guestsDeleted(guestIds: string[]): Promise<void>;
}

export function createAccountEvents(producer: StreamProducer): AccountEvents {
  return {
    async userRegistered(u) {
      await producer.append(streams.accountEvents, 'user.registered', {
        userId: u.id,
        username: u.username,
        displayName: u.displayName,
        createdAt: u.createdAt.toISOString(),
      });
    },
    async guestCreated(g) {
      await producer.append(streams.accountEvents, 'guest.created', {
        guestId: g.id,
        displayName: g.displayName,
        createdAt: g.createdAt.toISOString(),
      });
    },
    async guestsDeleted(guestIds) {
      await producer.append(streams.accountEvents, 'guest.deleted', { guestIds });
    },
  };
}
