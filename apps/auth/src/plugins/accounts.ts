// The account resources as one plugin: the users and guests repositories (with their indexes), the
// password checker, and the account event stream. Routes reach them as app.accounts.
import { createStreamProducer } from '@voip/bus/streams';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { type AccountEvents, createAccountEvents } from '../accounts/account-events.js';
import { createGuestRepository, type GuestRepository } from '../accounts/guest-repository.js';
import { createPasswordChecker, type PasswordChecker } from '../accounts/passwords.js';
import { createUserRepository, type UserRepository } from '../accounts/user-repository.js';

export interface Accounts {
  users: UserRepository;
  guests: GuestRepository;
  passwords: PasswordChecker;
  events: AccountEvents;
}

declare module 'fastify' {
  interface FastifyInstance {
    accounts: Accounts;
  }
}

/**
 * The unique username index is what makes registration race-free, so readiness waits for it. Mongo
 * may come up after us (the connection retries), hence building the indexes on connect.
 */
function ensureIndexes(
  app: FastifyInstance,
  models: Array<{ createIndexes(): Promise<unknown> }>,
): Promise<void> {
  let built = false;
  const build = async () => {
    await Promise.all(models.map((m) => m.createIndexes()));
    built = true;
  };
  app.readiness.set('indexes', () => {
    if (!built) throw new Error('indexes not built yet');
  });
  if (app.mongo.readyState === 1) return build();
  app.mongo.once('connected', () => {
    build().catch((err: unknown) => app.log.error({ err }, 'could not build indexes'));
  });
  return Promise.resolve();
}

export const accountsPlugin = fp(
  async (app: FastifyInstance) => {
    const users = createUserRepository(app.mongo);
    const guests = createGuestRepository(app.mongo);
    await ensureIndexes(app, [users.model, guests.model]);
    app.decorate('accounts', {
      users,
      guests,
      passwords: await createPasswordChecker(),
      events: createAccountEvents(createStreamProducer(app.redis, app.instanceId)),
    });
  },
  { name: 'accounts', dependencies: ['mongo', 'redis'] },
);
