import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAccountEvent } from '../../src/accounts/account-events.js';
import { envelope, newId, signIn, startUserService, type TestService } from '../harness.js';

describe('account events', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startUserService();
  });
  afterAll(() => svc.app.close());

  it('creates a user profile once, however often the event arrives', async () => {
    const userId = newId();
    const e = envelope('user.registered', {
      userId,
      username: 'Dana_1',
      displayName: 'Dana',
      createdAt: '2024-02-03T04:05:06.000Z',
    });
    await applyAccountEvent(svc.app.domain, e);
    await svc.app.domain.profiles.patch(userId, { displayName: 'Dana Renamed' }, new Date());
    await applyAccountEvent(svc.app.domain, e);
    const p = await svc.app.domain.profiles.get(userId);
    expect(p).toMatchObject({
      id: userId,
      kind: 'user',
      username: 'Dana_1',
      displayName: 'Dana Renamed',
      provisional: false,
    });
    expect(await svc.app.domain.profiles.model.countDocuments({ _id: userId })).toBe(1);
  });

  it('completes a profile made lazily from a token, keeping the token kind', async () => {
    const a = await signIn(svc.app, 'guest', 'Token Name');
    await svc.app.inject({ url: '/api/users/me', headers: a.headers });
    expect(await svc.app.domain.profiles.get(a.id)).toMatchObject({
      provisional: true,
      displayName: 'Token Name',
    });
    await applyAccountEvent(
      svc.app.domain,
      envelope('guest.created', {
        guestId: a.id,
        displayName: 'Event Name',
        createdAt: new Date().toISOString(),
      }),
    );
    expect(await svc.app.domain.profiles.get(a.id)).toMatchObject({
      provisional: false,
      displayName: 'Event Name',
      kind: 'guest',
    });
  });

  it('creates guest profiles and removes them (and only guests) on guest.deleted', async () => {
    const guestId = newId();
    const userId = newId();
    await applyAccountEvent(
      svc.app.domain,
      envelope('guest.created', { guestId, displayName: 'G', createdAt: new Date().toISOString() }),
    );
    await applyAccountEvent(
      svc.app.domain,
      envelope('guest.created', { guestId, displayName: 'G', createdAt: new Date().toISOString() }),
    );
    await applyAccountEvent(
      svc.app.domain,
      envelope('user.registered', {
        userId,
        username: 'keeper',
        displayName: 'K',
        createdAt: new Date().toISOString(),
      }),
    );
    expect((await svc.app.domain.profiles.get(guestId))?.kind).toBe('guest');
    const deleted = envelope('guest.deleted', { guestIds: [guestId, userId, newId()] });
    await applyAccountEvent(svc.app.domain, deleted);
    await applyAccountEvent(svc.app.domain, deleted);
    expect(await svc.app.domain.profiles.get(guestId)).toBeNull();
    expect(await svc.app.domain.profiles.get(userId)).not.toBeNull();
  });
});
