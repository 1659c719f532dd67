// Guests clean up by themselves: the sweeper (GUEST_SWEEP_INTERVAL_MS) deletes guests idle longer than a
// guest session lives, as the housekeeping route would, and leaves active guests and users alone.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type AuthApp,
  accountEvents,
  authEnv,
  bearer,
  createGuest,
  register,
  startAuth,
} from '../helpers.js';

describe('guest sweeper', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await startAuth(authEnv({ GUEST_SWEEP_INTERVAL_MS: '300', GUEST_REFRESH_TTL_SECONDS: '3600' }));
  });
  afterAll(() => app.close());

  it('deletes guests idle longer than the guest session lifetime, with their sessions, and announces it', async () => {
    const idle = await createGuest(app, 'Gone Long Ago');
    const active = await createGuest(app, 'Still Here');
    const user = await register(app);
    await app.accounts.guests.touch(idle.guestId, new Date(Date.now() - 2 * 3600_000));

    await vi.waitFor(async () => expect(await app.accounts.guests.findById(idle.guestId)).toBeNull(), {
      timeout: 15_000,
      interval: 100,
    });
    const me = (token: string) => app.inject({ url: '/api/auth/me', headers: bearer(token) });
    expect((await me(idle.accessToken)).statusCode).toBe(401);
    expect(await app.accounts.guests.findById(active.guestId)).not.toBeNull();
    expect((await me(active.accessToken)).statusCode).toBe(200);
    expect((await me(user.accessToken)).statusCode).toBe(200);
    const events = await accountEvents(app.redis);
    expect(
      events.some(
        (e) =>
          e.type === 'guest.deleted' && (e.data as { guestIds: string[] }).guestIds.includes(idle.guestId),
      ),
    ).toBe(true);
  });
});
