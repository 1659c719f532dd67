// The SDK's REST side against the real services, only through Nginx: typed calls to the API.md routes,
// errors as ApiError, and access-token refresh that is single-flight under concurrency.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiError } from '../src/api-error.js';
import { memoryStorage } from '../src/storage.js';
import { VoipClient } from '../src/voip.js';
import { countingFetch, startTestStack, type TestStack, unique } from './support/stack.js';

const ACCESS_TTL_SECONDS = 10;
const PASSWORD = 'correct horse battery';
const ADMIN_USERNAME = unique('root');

describe('REST client (through Nginx → gateway → services)', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      services: ['auth', 'user', 'call', 'gateway'],
      // Short-lived access tokens, so the refresh paths can be exercised for real.
      serviceEnv: {
        auth: { ACCESS_TTL_SECONDS: String(ACCESS_TTL_SECONDS) },
        // Every test here signs in several clients from one address: more than the default 20 a window.
        gateway: { RATE_LIMIT_CREDENTIALS_MAX: '500' },
      },
    });
  });
  afterAll(async () => {
    await stack?.dispose();
  });

  /** The operator's `pnpm admin grant <userId>` (the root script), against this stack's databases. */
  const grantAdmin = (userId: string) =>
    execFileSync(process.execPath, ['apps/auth/dist/cli/admin.js', 'grant', userId], {
      cwd: fileURLToPath(new URL('../../..', import.meta.url)),
      env: { ...process.env, MONGODB_URI: stack.mongoUri, REDIS_URL: stack.redisUrl },
      encoding: 'utf8',
    });

  /** The admin account: registered once, granted admin by id, signed in. */
  async function adminClient() {
    const admin = newClient();
    try {
      await admin.auth.login({ username: ADMIN_USERNAME, password: PASSWORD });
    } catch {
      await admin.auth.register({ username: ADMIN_USERNAME, password: PASSWORD, displayName: 'Root' });
      expect(grantAdmin((await admin.auth.me()).id)).toMatch(/is now admin/);
      await admin.auth.login({ username: ADMIN_USERNAME, password: PASSWORD });
    }
    return admin;
  }

  const newClient = (opts: Partial<ConstructorParameters<typeof VoipClient>[0]> = {}) =>
    new VoipClient({ url: stack.url, storage: memoryStorage(), ...opts });

  /** Registers a user and waits until the user service has its profile (it learns of it from the bus). */
  async function registered(name: string) {
    const client = newClient();
    const username = unique(name.toLowerCase());
    const res = await client.auth.register({
      username,
      password: PASSWORD,
      displayName: `${name} ${username}`,
    });
    await vi.waitFor(() => client.users.me(), { timeout: 15_000, interval: 200 });
    return { client, id: res.user.id, username, displayName: res.user.displayName };
  }

  const errorOf = async (p: Promise<unknown>) => {
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApiError);
    return err as ApiError;
  };

  it('signs up and in, keeps the tokens in its storage, and surfaces refusals as ApiError', async () => {
    const storage = memoryStorage();
    const client = newClient({ storage });
    const username = unique('ann');
    const res = await client.auth.register({ username, password: PASSWORD, displayName: 'Ann' });
    expect(client.signedIn).toBe(true);
    expect(JSON.parse(storage.getItem('voip.tokens') ?? '{}')).toMatchObject({
      accessToken: res.accessToken,
    });
    expect(await client.auth.me()).toMatchObject({ id: res.user.id, kind: 'user' });

    // A second client on the same storage (an app restart) is already signed in.
    expect(await newClient({ storage }).auth.me()).toMatchObject({ id: res.user.id });

    const taken = await errorOf(client.auth.register({ username, password: PASSWORD, displayName: 'Ann' }));
    expect(taken).toMatchObject({ status: 409, code: 'USERNAME_TAKEN' });
    expect(taken.requestId).toBeTruthy();
    const bad = await errorOf(newClient().auth.login({ username, password: 'wrong password!' }));
    expect(bad).toMatchObject({ status: 401, code: 'INVALID_CREDENTIALS' });
    const invalid = await errorOf(
      newClient().auth.register({ username: 'x', password: 'short', displayName: '' }),
    );
    expect(invalid.status).toBe(400);

    await client.auth.logout();
    expect(client.signedIn).toBe(false);
    expect(storage.getItem('voip.tokens')).toBeNull();
    expect(await errorOf(client.auth.me())).toMatchObject({ status: 401 });

    const guest = newClient();
    const g = await guest.auth.guest('Visitor');
    expect(await guest.auth.me()).toMatchObject({ id: g.guest.id, kind: 'guest' });
  });

  it('covers the user routes: profile, search, presence, contacts, blocks, devices, sync', async () => {
    const alice = await registered('Alice');
    const bob = await registered('Bob');
    const a = alice.client.users;

    expect(await a.updateMe({ doNotDisturb: false, displayName: `${alice.displayName}!` })).toMatchObject({
      id: alice.id,
      displayName: `${alice.displayName}!`,
    });
    expect(await a.profile(bob.id)).toMatchObject({ id: bob.id, displayName: bob.displayName });
    const found = await a.search(bob.displayName, { limit: 5 });
    expect(found.items.map((p) => p.id)).toContain(bob.id);
    expect((await a.presence([bob.id]))[bob.id]).toMatchObject({ status: 'offline' });

    const first = await a.syncChanges();
    expect(await a.addContact(bob.id)).toMatchObject({ userId: bob.id, displayName: bob.displayName });
    expect((await a.contacts()).items.map((c) => c.userId)).toEqual([bob.id]);
    const since = await a.syncChanges(first.cursor);
    expect(since.changes.some((c) => c.entity === 'contact' && c.id.includes(bob.id))).toBe(true);
    await a.removeContact(bob.id);
    expect((await a.contacts()).items).toEqual([]);

    await a.block(bob.id);
    expect((await a.blocks()).items.map((b) => b.userId)).toEqual([bob.id]);
    await a.unblock(bob.id);
    expect((await a.blocks()).items).toEqual([]);

    await a.putDevice('phone-1', { platform: 'android', pushToken: 'token-1' });
    expect((await a.devices()).items).toMatchObject([{ deviceId: 'phone-1', platform: 'android' }]);
    await a.deleteDevice('phone-1');
    expect((await a.devices()).items).toEqual([]);

    expect(await errorOf(a.profile('01NOSUCHUSER0000000000000'))).toMatchObject({ status: 404 });
  });

  it('covers the call routes: initiate, get, history, ice-servers', async () => {
    const carol = await registered('Carol');
    const dave = await registered('Dave');
    const ice = await carol.client.calls.iceServers();
    expect(ice.iceServers.length).toBeGreaterThan(0);

    const started = await carol.client.calls.initiate({ calleeId: dave.id, media: 'audio' });
    expect(started).toMatchObject({ state: 'ringing' });
    expect(await carol.client.calls.get(started.callId)).toMatchObject({
      callId: started.callId,
      callerId: carol.id,
      calleeId: dave.id,
    });
    expect(await dave.client.calls.get(started.callId)).toMatchObject({ callId: started.callId });
    expect((await carol.client.calls.iceServers(started.callId)).iceServers.length).toBeGreaterThan(0);
    expect(await errorOf(carol.client.calls.initiate({ calleeId: dave.id, media: 'audio' }))).toMatchObject({
      status: 409,
    });
    expect(Array.isArray((await carol.client.calls.history({ limit: 5 })).items)).toBe(true);

    const stranger = await registered('Erin');
    expect(await errorOf(stranger.client.calls.get(started.callId))).toMatchObject({ status: 404 });
    expect(
      await errorOf(
        stranger.client.calls.initiate({ calleeId: '01NOSUCHUSER0000000000000', media: 'video' }),
      ),
    ).toMatchObject({
      status: 404,
    });
  });

  it('covers guest housekeeping for an admin, and refuses it to users and guests (403)', async () => {
    const admin = await adminClient();
    expect(await admin.auth.me()).toMatchObject({ kind: 'admin' });
    const guest = newClient();
    const { guest: g } = await guest.auth.guest('Passer-by');
    const { client: user } = await registered('Uma');

    for (const who of [user, guest])
      expect(await errorOf(who.admin.deleteGuest(g.id))).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(await admin.admin.deleteGuest(g.id)).toEqual({ deleted: 1 });
    // The guest's session went with its account.
    expect(await errorOf(guest.auth.me())).toMatchObject({ status: 401 });
    expect(await admin.admin.deleteGuestsBefore(new Date(Date.now() - 86_400_000))).toEqual({ deleted: 0 });
    expect((await admin.admin.deleteAllGuests()).deleted).toBeGreaterThanOrEqual(0);
    expect((await admin.admin.deleteGuestProfilesBefore('2000-01-01T00:00:00Z')).deleted).toBe(0);
    expect((await admin.admin.deleteAllGuestProfiles()).deleted).toBeGreaterThanOrEqual(0);
  });

  it('revokes sessions: an admin ends one or all of a user, a user signs out everywhere', async () => {
    const admin = await adminClient();
    const { client: phone, username } = await registered('Vic');
    const tablet = newClient();
    await tablet.auth.login({ username, password: PASSWORD });
    expect(await errorOf(phone.admin.revokeUserSessions('01ARZ3NDEKTSV4RRFFQ69G5FAV'))).toMatchObject({
      status: 403,
    });

    const me = await tablet.auth.me();
    expect(await admin.admin.revokeUserSessions(me.id)).toEqual({ revoked: 2 });
    expect(await errorOf(phone.auth.me())).toMatchObject({ status: 401 });
    expect(await errorOf(tablet.auth.me())).toMatchObject({ status: 401 });

    const again = newClient();
    await again.auth.login({ username, password: PASSWORD });
    const other = newClient();
    await other.auth.login({ username, password: PASSWORD });
    await again.auth.logoutAll();
    expect(again.signedIn).toBe(false);
    expect(await errorOf(other.auth.me())).toMatchObject({ status: 401 });
  });

  it('refreshes an expired access token once for many concurrent requests, then retries them', async () => {
    const frank = await registered('Frank');
    // Two more sessions of the same user: one that waits for the server's 401 TOKEN_EXPIRED, one that
    // notices the expiry itself and refreshes before sending.
    const reactive = countingFetch();
    const proactive = countingFetch();
    const lazy = newClient({ fetch: reactive.fetch, proactiveRefresh: false });
    const eager = newClient({ fetch: proactive.fetch });
    await lazy.auth.login({ username: frank.username, password: PASSWORD });
    await eager.auth.login({ username: frank.username, password: PASSWORD });
    const lazyToken = lazy.rest.tokens!.accessToken;
    const eagerToken = eager.rest.tokens!.accessToken;

    // Wait until both access tokens have expired on the server's clock too.
    const expiresAt = Math.max(lazy.rest.tokens!.expiresAt, eager.rest.tokens!.expiresAt);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 1500));
    reactive.calls.length = 0;
    proactive.calls.length = 0;

    const burst = (c: VoipClient) =>
      Promise.all([
        c.auth.me(),
        c.users.me(),
        c.users.contacts(),
        c.calls.history(),
        c.auth.me(),
        c.users.me(),
        c.calls.iceServers(),
        c.users.devices(),
      ]);
    const [lazyResults, eagerResults] = await Promise.all([burst(lazy), burst(eager)]);
    for (const results of [lazyResults, eagerResults]) expect(results[0]).toMatchObject({ id: frank.id });

    const refreshes = (calls: { method: string; path: string }[]) =>
      calls.filter((c) => c.method === 'POST' && c.path === '/api/auth/refresh').length;
    // Reactive: all eight got 401 TOKEN_EXPIRED, one refresh, all eight retried with the new token.
    expect(refreshes(reactive.calls)).toBe(1);
    expect(reactive.calls.filter((c) => c.status === 401)).toHaveLength(8);
    expect(reactive.calls.filter((c) => c.path !== '/api/auth/refresh' && c.status === 200)).toHaveLength(8);
    // Proactive: one refresh first, no 401 at all.
    expect(refreshes(proactive.calls)).toBe(1);
    expect(proactive.calls.filter((c) => c.status === 401)).toHaveLength(0);
    expect(lazy.rest.tokens!.accessToken).not.toBe(lazyToken);
    expect(eager.rest.tokens!.accessToken).not.toBe(eagerToken);
  });

  it('signs out and reports session-lost when its refresh token is refused', async () => {
    const gina = await registered('Gina');
    // A copy of the same tokens (a stale backup): once the original rotated and used its new token too
    // (so it is no retry within auth's grace window), the copy's refresh token is a re-used one, which
    // revokes the session for both.
    const storage = memoryStorage({ 'voip.tokens': JSON.stringify(gina.client.rest.tokens) });
    const copy = newClient({ storage });
    await gina.client.rest.refresh();
    await gina.client.rest.refresh();
    const lost = vi.fn();
    copy.on('session-lost', lost);
    expect(await errorOf(copy.rest.refresh())).toMatchObject({ status: 401 });
    expect(lost).toHaveBeenCalledTimes(1);
    expect(copy.signedIn).toBe(false);
    expect(storage.getItem('voip.tokens')).toBeNull();
    // The session is gone on the server too.
    await vi.waitFor(async () => expect((await errorOf(gina.client.auth.me())).status).toBe(401), {
      timeout: 5000,
    });
  });
});
