import { keys } from '@voip/contracts/redis-keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyAccountEvent } from '../../src/accounts/account-events.js';
import {
  type Account,
  envelope,
  newId,
  startUserService,
  type TestService,
  withProfile,
} from '../harness.js';

/** a and b add each other as contacts: each has accepted the other, so presence and login names show. */
async function befriend(svc: TestService, a: Account, b: Account) {
  for (const [x, y] of [
    [a, b],
    [b, a],
  ] as const) {
    const res = await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/contacts/${y.id}`,
      headers: x.headers,
    });
    if (res.statusCode !== 200) throw new Error(`PUT contact answered ${res.statusCode}`);
  }
}

describe('GET /api/users/:id', () => {
  let svc: TestService;
  let viewer: Account;
  beforeAll(async () => {
    svc = await startUserService();
    viewer = await withProfile(svc.app);
  });
  afterAll(() => svc.app.close());

  it('answers the public profile with presence from the signaling hash to an accepted contact', async () => {
    const other = await withProfile(svc.app, 'user', 'Public Person');
    await befriend(svc, viewer, other);
    await svc.app.redis.hset(keys.presence(other.id), {
      status: 'busy',
      lastSeenAt: '2025-05-06T07:08:09.000Z',
      kind: 'user',
    });
    const res = await svc.app.inject({ url: `/api/users/${other.id}`, headers: viewer.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      id: other.id,
      displayName: 'Public Person',
      avatarUrl: null,
      kind: 'user',
      presence: { status: 'busy', lastSeenAt: '2025-05-06T07:08:09.000Z' },
    });
    // Private fields never leak into the public view.
    expect(res.json()).not.toHaveProperty('doNotDisturb');
  });

  it('shows a stranger (a guest, or someone who added the user without being accepted) no presence and no login name', async () => {
    const id = newId();
    await applyAccountEvent(
      svc.app.domain,
      envelope('user.registered', {
        userId: id,
        username: 'private_handle',
        displayName: 'Private Person',
        createdAt: new Date().toISOString(),
      }),
    );
    await svc.app.redis.hset(keys.presence(id), { status: 'online', lastSeenAt: new Date().toISOString() });
    const guest = await withProfile(svc.app, 'guest', 'Curious Guest');
    // Adding someone as a contact alone shows nothing: they have not accepted you.
    await svc.app.inject({ method: 'PUT', url: `/api/users/me/contacts/${id}`, headers: guest.headers });
    for (const who of [guest, viewer]) {
      const res = await svc.app.inject({ url: `/api/users/${id}`, headers: who.headers });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ id, displayName: 'Private Person', avatarUrl: null, kind: 'user' });
    }
    expect(
      (await svc.app.inject({ url: `/api/users/presence?ids=${id}`, headers: guest.headers })).json()[id],
    ).toEqual({ status: 'offline', lastSeenAt: null });
  });

  it('shows offline and never-seen when there is no presence hash, and normalizes epoch-ms times', async () => {
    const other = await withProfile(svc.app);
    await befriend(svc, viewer, other);
    expect(
      (await svc.app.inject({ url: `/api/users/${other.id}`, headers: viewer.headers })).json().presence,
    ).toEqual({
      status: 'offline',
      lastSeenAt: null,
    });
    await svc.app.redis.hset(keys.presence(other.id), { status: 'weird', lastSeenAt: '1700000000000' });
    expect(
      (await svc.app.inject({ url: `/api/users/${other.id}`, headers: viewer.headers })).json().presence,
    ).toEqual({
      status: 'offline',
      lastSeenAt: '2023-11-14T22:13:20.000Z',
    });
  });

  it('hides the presence of someone who blocked the viewer, contacts or not', async () => {
    const blocker = await withProfile(svc.app);
    await befriend(svc, viewer, blocker);
    await svc.app.redis.hset(keys.presence(blocker.id), {
      status: 'online',
      lastSeenAt: new Date().toISOString(),
    });
    expect(
      (await svc.app.inject({ url: `/api/users/${blocker.id}`, headers: viewer.headers })).json().presence,
    ).toMatchObject({ status: 'online' });
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/blocks/${viewer.id}`,
      headers: blocker.headers,
    });
    const res = await svc.app.inject({ url: `/api/users/${blocker.id}`, headers: viewer.headers });
    expect(res.json()).not.toHaveProperty('presence');
  });

  it('answers 404 USER_NOT_FOUND for an unknown id and 400 for a malformed one', async () => {
    const unknown = await svc.app.inject({ url: `/api/users/${newId()}`, headers: viewer.headers });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().error.code).toBe('USER_NOT_FOUND');
    for (const bad of ['a%20b', 'x'.repeat(65), '%24where', 'a.b']) {
      const res = await svc.app.inject({ url: `/api/users/${bad}`, headers: viewer.headers });
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('requires a token', async () => {
    expect((await svc.app.inject({ url: `/api/users/${viewer.id}` })).statusCode).toBe(401);
  });
});

describe('GET /api/users/search', () => {
  let svc: TestService;
  let viewer: Account;
  const search = (query: string) =>
    svc.app.inject({ url: `/api/users/search?${query}`, headers: viewer.headers });
  const names = (body: { items: { displayName: string }[] }) => body.items.map((p) => p.displayName);

  beforeAll(async () => {
    svc = await startUserService();
    viewer = await withProfile(svc.app, 'user', 'Viewer');
    const users: Array<[string, 'user' | 'guest']> = [
      ['Alice Adams', 'user'],
      ['alicia keys', 'user'],
      ['ALINA', 'user'],
      ['Alien Guest', 'guest'],
      ['Bob', 'user'],
      ['a.b (dots)', 'user'],
      ['Zed', 'user'],
      ['한가람', 'user'],
    ];
    for (const [displayName, kind] of users) {
      const id = newId();
      if (kind === 'guest')
        await applyAccountEvent(
          svc.app.domain,
          envelope('guest.created', { guestId: id, displayName, createdAt: new Date().toISOString() }),
        );
      else
        await applyAccountEvent(
          svc.app.domain,
          envelope('user.registered', {
            userId: id,
            username: `u${id.slice(-8).toLowerCase()}`,
            displayName,
            createdAt: new Date().toISOString(),
          }),
        );
    }
  });
  afterAll(() => svc.app.close());

  it('matches a case-insensitive prefix, ordered by name, without guests', async () => {
    const res = await search('q=ALI');
    expect(res.statusCode).toBe(200);
    expect(names(res.json())).toEqual(['Alice Adams', 'alicia keys', 'ALINA']);
    expect(res.json().nextCursor).toBeNull();
    // Strangers in the directory: what a calling app must show, no login name, no presence.
    expect(Object.keys(res.json().items[0]).sort()).toEqual(['avatarUrl', 'displayName', 'id', 'kind']);
  });

  it('includes guests only when asked', async () => {
    expect(names((await search('q=ali&includeGuests=true')).json())).toEqual([
      'Alice Adams',
      'alicia keys',
      'Alien Guest',
      'ALINA',
    ]);
    expect(names((await search('q=alien')).json())).toEqual([]);
  });

  it('matches a prefix of the username too, case-insensitively', async () => {
    const id = newId();
    await applyAccountEvent(
      svc.app.domain,
      envelope('user.registered', {
        userId: id,
        username: 'Quokka_Handle',
        displayName: 'Someone Else',
        createdAt: new Date().toISOString(),
      }),
    );
    const res = await search('q=quokka_h');
    expect(res.json().items).toEqual([expect.objectContaining({ id, displayName: 'Someone Else' })]);
    expect(res.json().items[0]).not.toHaveProperty('username');
    expect(names((await search('q=handle')).json())).toEqual([]);
    // A guest finds people by display name only: it cannot probe login names.
    const guest = await withProfile(svc.app, 'guest', 'Prober');
    const probe = await svc.app.inject({ url: '/api/users/search?q=quokka_h', headers: guest.headers });
    expect(probe.json().items).toEqual([]);
  });

  it('matches a prefix only, never a substring', async () => {
    expect(names((await search('q=adams')).json())).toEqual([]);
  });

  it('treats regex characters in q as plain text', async () => {
    expect(names((await search(`q=${encodeURIComponent('a.b (')}`)).json())).toEqual(['a.b (dots)']);
    expect(names((await search(`q=${encodeURIComponent('.*')}`)).json())).toEqual([]);
    expect(names((await search(`q=${encodeURIComponent('a.')}`)).json())).toEqual(['a.b (dots)']);
    expect((await search(`q=${encodeURIComponent('(')}`)).statusCode).toBe(200);
    expect((await search(`q=${encodeURIComponent('[')}`)).statusCode).toBe(200);
    expect((await search(`q=${encodeURIComponent('\\')}`)).statusCode).toBe(200);
  });

  it('finds names in other scripts, composed or decomposed', async () => {
    expect(names((await search(`q=${encodeURIComponent('한')}`)).json())).toEqual(['한가람']);
    expect(names((await search(`q=${encodeURIComponent('한가'.normalize('NFD'))}`)).json())).toEqual([
      '한가람',
    ]);
  });

  it('pages with an opaque cursor until nextCursor is null, without repeats', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let i = 0; i < 10; i++) {
      const res = await search(`q=a&limit=2&includeGuests=true${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.items.length).toBeLessThanOrEqual(2);
      seen.push(...names(body));
      cursor = body.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(['a.b (dots)', 'Alice Adams', 'alicia keys', 'Alien Guest', 'ALINA']);
  });

  it.each([
    ['no q', ''],
    ['an empty q', 'q='],
    ['a too long q', `q=${'a'.repeat(65)}`],
    ['a limit over the maximum', 'q=a&limit=51'],
    ['a limit of zero', 'q=a&limit=0'],
    ['a non-numeric limit', 'q=a&limit=ten'],
    ['a bad cursor', 'q=a&cursor=not-a-cursor'],
    ['a cursor of the wrong shape', `q=a&cursor=${Buffer.from('{"a":1}').toString('base64url')}`],
    ['an unknown parameter', 'q=a&sort=name'],
    ['an operator-shaped parameter', 'q[$ne]=x'],
    ['a non-boolean includeGuests', 'q=a&includeGuests=maybe'],
  ])('refuses %s with 400', async (_name, query) => {
    const res = await search(query);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /api/users/presence', () => {
  let svc: TestService;
  let viewer: Account;
  const presence = (ids: string) =>
    svc.app.inject({ url: `/api/users/presence?ids=${ids}`, headers: viewer.headers });
  beforeAll(async () => {
    svc = await startUserService({ PRESENCE_MAX_IDS: '200' });
    viewer = await withProfile(svc.app);
  });
  afterAll(() => svc.app.close());

  it('answers every asked id, unknown ones as offline', async () => {
    const [a, b, c] = [newId(), newId(), newId()];
    // The presence mirror that contacts both ways write (keys.contactWatchers): a and b accepted the viewer.
    for (const id of [a, b]) await svc.app.redis.sadd(keys.contactWatchers(id), viewer.id);
    await svc.app.redis.hset(keys.presence(a), { status: 'online', lastSeenAt: '2025-01-01T00:00:00.000Z' });
    await svc.app.redis.hset(keys.presence(b), { status: 'busy', lastSeenAt: '2025-01-02T00:00:00.000Z' });
    const res = await presence(`${a},${b},${c},${a}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      [a]: { status: 'online', lastSeenAt: '2025-01-01T00:00:00.000Z' },
      [b]: { status: 'busy', lastSeenAt: '2025-01-02T00:00:00.000Z' },
      [c]: { status: 'offline', lastSeenAt: null },
    });
  });

  it('handles ids that look like object internals as plain keys', async () => {
    const res = await presence('__proto__,constructor');
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toEqual({
      ['__proto__']: { status: 'offline', lastSeenAt: null },
      constructor: { status: 'offline', lastSeenAt: null },
    });
  });

  it('reads 200 ids in one batch and refuses 201', async () => {
    const ids = Array.from({ length: 200 }, () => newId());
    await svc.app.redis.hset(keys.presence(ids[199]!), { status: 'online' });
    await svc.app.redis.sadd(keys.contactWatchers(ids[199]!), viewer.id);
    const ok = await presence(ids.join(','));
    expect(ok.statusCode).toBe(200);
    expect(Object.keys(ok.json())).toHaveLength(200);
    expect(ok.json()[ids[199]!].status).toBe('online');
    const tooMany = await presence([...ids, newId()].join(','));
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().error.code).toBe('VALIDATION_FAILED');
  });

  it('hides who blocked the viewer', async () => {
    const blocker = await withProfile(svc.app);
    await befriend(svc, viewer, blocker);
    await svc.app.redis.hset(keys.presence(blocker.id), { status: 'online' });
    await svc.app.inject({
      method: 'PUT',
      url: `/api/users/me/blocks/${viewer.id}`,
      headers: blocker.headers,
    });
    expect((await presence(blocker.id)).json()[blocker.id]).toEqual({ status: 'offline', lastSeenAt: null });
  });

  it.each([
    ['no ids', '/api/users/presence'],
    ['an empty list', '/api/users/presence?ids=,,'],
    ['a malformed id', '/api/users/presence?ids=abc,d$ef'],
    ['a repeated parameter', '/api/users/presence?ids=a&ids=b'],
    ['a too long list', `/api/users/presence?ids=${'a'.repeat(13_001)}`],
    ['an unknown parameter', '/api/users/presence?ids=a&x=1'],
  ])('refuses %s with 400', async (_name, url) => {
    const res = await svc.app.inject({ url, headers: viewer.headers });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('GET /api/users/search rate limit', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startUserService({ SEARCH_RATE_LIMIT: '3' });
  });
  afterAll(() => svc.app.close());

  it('limits searches per principal with 429 RATE_LIMITED and Retry-After; another principal is not affected', async () => {
    const pager = await withProfile(svc.app, 'guest', 'Pager');
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof svc.app.inject>> | undefined;
    for (let i = 0; i < 4; i++) {
      last = await svc.app.inject({ url: `/api/users/search?q=${'abcd'[i]}`, headers: pager.headers });
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(last?.json().error.code).toBe('RATE_LIMITED');
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    const other = await withProfile(svc.app);
    expect((await svc.app.inject({ url: '/api/users/search?q=a', headers: other.headers })).statusCode).toBe(
      200,
    );
  });
});
