// Real coturn, real credentials: what the call service issues must allocate a relay with coturn's own
// client, and call-scoped credentials must stop working once the call has ended.
import { readFileSync } from 'node:fs';
import { coturnKeys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { redisUrl } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, type Coturn, DEV_CONF, startCoturn } from '../support/coturn.js';
import {
  type Account,
  callEnv,
  connectRedis,
  eventually,
  redisUrlForDb,
  signIn,
  startCallService,
} from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const SERVICE_DB = 2;
const TURN_DB = 3;
const SECRET = 'turn-test-secret-0123456789';

type Ice = { urls: string | string[]; username?: string; credential?: string };
const turnOf = (servers: Ice[]) => {
  const t = servers.find((s) => [s.urls].flat().some((u) => u.startsWith('turn:')));
  if (!t?.username || !t.credential) throw new Error(`no TURN credentials in ${JSON.stringify(servers)}`);
  return { username: t.username, credential: t.credential };
};

describe('TURN with real coturn', { timeout: 120_000 }, () => {
  let users: UserServiceStandIn;
  beforeAll(async () => {
    users = await startUserServiceStandIn();
  });
  afterAll(() => users?.close());

  describe('REST mode (default)', () => {
    let turn: Coturn;
    let app: App;
    let alice: Account;
    let bob: Account;
    beforeAll(async () => {
      turn = await startCoturn({ mode: 'rest', secret: SECRET });
      app = await startCallService(
        callEnv(SERVICE_DB, {
          USER_SERVICE_URL: users.url,
          HISTORY_CONSUMER_ENABLED: 'false',
          TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`,
          STUN_URLS: `stun:127.0.0.1:${turn.port}`,
          TURN_SECRET: SECRET,
          TURN_REALM: turn.realm,
        }),
      );
      alice = await signIn(app.redis, 'user', 'Alice');
      bob = await signIn(app.redis, 'user', 'Bob');
      users.users.set(bob.id, { displayName: 'Bob' });
    });
    afterAll(async () => {
      await app?.close();
      await turn?.stop();
    });

    /** A ringing call from alice to bob; alice's ICE servers from the answer. */
    async function ringing() {
      const res = await app.inject({
        method: 'POST',
        url: '/api/calls',
        headers: alice.headers,
        payload: { calleeId: bob.id, media: 'audio' },
      });
      expect(res.statusCode, res.body).toBe(201);
      return res.json() as { callId: string; iceServers: Ice[] };
    }
    const end = async (callId: string) =>
      expect(
        (await app.callService.store.transition(callId, { type: 'cancel' }, { byUserId: alice.id })).ok,
      ).toBe(true);

    it('gives TURN only to participants of a live call: STUN without one, 404 to a stranger, 409 once ended', async () => {
      const none = await app.inject({ url: '/api/calls/ice-servers', headers: alice.headers });
      expect(none.statusCode).toBe(200);
      expect(none.json().iceServers).toEqual([{ urls: [`stun:127.0.0.1:${turn.port}`] }]);
      const { callId } = await ringing();
      const stranger = await signIn(app.redis, 'guest', 'Mallory');
      const asked = await app.inject({
        url: `/api/calls/ice-servers?callId=${callId}`,
        headers: stranger.headers,
      });
      expect(asked.statusCode).toBe(404);
      await end(callId);
      const late = await app.inject({ url: `/api/calls/ice-servers?callId=${callId}`, headers: bob.headers });
      expect(late.statusCode).toBe(409);
    });

    it('issues expiry:callId:userId credentials that allocate a relay; a forged password is refused', async () => {
      const { callId } = await ringing();
      const res = await app.inject({ url: `/api/calls/ice-servers?callId=${callId}`, headers: bob.headers });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { iceServers: Ice[]; ttlSeconds: number };
      expect(body.ttlSeconds).toBeGreaterThanOrEqual(1800);
      expect(body.ttlSeconds).toBeLessThanOrEqual(3600);
      expect(body.iceServers).toContainEqual({ urls: [`stun:127.0.0.1:${turn.port}`] });
      const { username, credential } = turnOf(body.iceServers);
      const [expiry, scopedCall, userId] = username.split(':');
      expect([scopedCall, userId]).toEqual([callId, bob.id]);
      expect(Number(expiry)).toBeGreaterThan(Date.now() / 1000);

      const good = await allocate(turn, username, credential);
      expect(good.ok, good.output).toBe(true);
      expect(good.received).toBeGreaterThan(0);

      const forged = await allocate(turn, username, `${credential.slice(0, -4)}AAA=`);
      expect(forged.ok).toBe(false);
      await end(callId);
    });

    it("holds coturn's per-user quota for one participant of one call, however often credentials are asked for", async () => {
      const quota = Number(/^user-quota=(\d+)$/m.exec(readFileSync(DEV_CONF, 'utf8'))?.[1]);
      expect(quota).toBeGreaterThan(0);
      const { callId, iceServers } = await ringing();
      const mine = turnOf(iceServers);
      // Two more allocations than the quota on the caller's credential, all at once: at most `quota`
      // succeed (coturn may refuse one more while concurrent allocations settle).
      const refusals = (out: string) => out.match(/error 486/g)?.length ?? 0;
      const flood = await allocate(turn, mine.username, mine.credential, quota + 2);
      expect(refusals(flood.output), flood.output).toBeGreaterThanOrEqual(2);
      // Asked again later, the credential is the same TURN user, so it gets nothing past the quota.
      const again = await app.inject({
        url: `/api/calls/ice-servers?callId=${callId}`,
        headers: alice.headers,
      });
      expect(turnOf(again.json().iceServers)).toEqual(mine);
      const more = await allocate(turn, mine.username, mine.credential, 2);
      expect(more.ok).toBe(false);
      // Allocations held on this user over both runs: never more than the quota.
      expect(refusals(flood.output) + refusals(more.output), more.output).toBeGreaterThanOrEqual(4);
      // The other participant is another TURN user with its own quota.
      const res = await app.inject({ url: `/api/calls/ice-servers?callId=${callId}`, headers: bob.headers });
      const theirs = turnOf(res.json().iceServers);
      expect(theirs.username).not.toBe(mine.username);
      const ok = await allocate(turn, theirs.username, theirs.credential);
      expect(ok.ok, ok.output).toBe(true);
      await end(callId);
    });
  });

  describe('call-scoped mode', () => {
    let turn: Coturn;
    let app: App;
    let turnRedis: Redis;
    let alice: Account;
    let bob: Account;
    beforeAll(async () => {
      turnRedis = await connectRedis(TURN_DB);
      await turnRedis.flushdb();
      turn = await startCoturn({
        mode: 'call-scoped',
        redisPort: Number(new URL(redisUrl()).port),
        redisDb: TURN_DB,
      });
      app = await startCallService(
        callEnv(SERVICE_DB, {
          USER_SERVICE_URL: users.url,
          TURN_MODE: 'call-scoped',
          TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp`,
          TURN_SECRET: SECRET,
          TURN_REALM: turn.realm,
          TURN_REDIS_URL: redisUrlForDb(TURN_DB),
        }),
      );
      await app.redis.flushdb();
      alice = await signIn(app.redis, 'user', 'Alice');
      bob = await signIn(app.redis, 'user', 'Bob');
      users.users.set(alice.id, { displayName: 'Alice' });
      users.users.set(bob.id, { displayName: 'Bob' });
    });
    afterAll(async () => {
      await app?.close();
      await turn?.stop();
      await turnRedis?.quit();
    });

    it('gives each participant a TURN user for the call that works until the call ends, then is refused', async () => {
      const initiated = await app.inject({
        method: 'POST',
        url: '/api/calls',
        headers: alice.headers,
        payload: { calleeId: bob.id, media: 'audio' },
      });
      expect(initiated.statusCode).toBe(201);
      const { callId, iceServers } = initiated.json() as { callId: string; iceServers: Ice[] };
      const aliceCred = turnOf(iceServers);
      expect(aliceCred.username).toBe(`${callId}:${alice.id}`);

      const forBob = await app.inject({
        url: `/api/calls/ice-servers?callId=${callId}`,
        headers: bob.headers,
      });
      expect(forBob.statusCode).toBe(200);
      const bobCred = turnOf(forBob.json().iceServers);
      expect(bobCred.username).toBe(`${callId}:${bob.id}`);
      // Asking again (another device) gives the same credential, so the first one keeps working.
      const again = await app.inject({
        url: `/api/calls/ice-servers?callId=${callId}`,
        headers: bob.headers,
      });
      expect(turnOf(again.json().iceServers)).toEqual(bobCred);

      const stranger = await signIn(app.redis, 'user', 'Mallory');
      expect(
        (await app.inject({ url: `/api/calls/ice-servers?callId=${callId}`, headers: stranger.headers }))
          .statusCode,
      ).toBe(404);
      // Without a call there is nothing to scope TURN to: STUN only (none configured here).
      expect(
        (await app.inject({ url: '/api/calls/ice-servers', headers: stranger.headers })).json().iceServers,
      ).toEqual([]);

      const during = await allocate(turn, aliceCred.username, aliceCred.credential);
      expect(during.ok, during.output).toBe(true);
      expect(during.received).toBeGreaterThan(0);
      expect((await allocate(turn, bobCred.username, bobCred.credential)).ok).toBe(true);

      // The call ends (signaling's hang-up); the history consumer sees call.ended and deletes both users.
      expect(
        (await app.callService.store.transition(callId, { type: 'cancel' }, { byUserId: alice.id })).ok,
      ).toBe(true);
      await eventually(
        async () =>
          (await turnRedis.exists(
            coturnKeys.userKey(turn.realm, aliceCred.username),
            coturnKeys.userKey(turn.realm, bobCred.username),
          )) === 0,
      );

      const after = await allocate(turn, aliceCred.username, aliceCred.credential);
      expect(after.ok).toBe(false);
      expect(after.received).toBe(0);
      expect((await allocate(turn, bobCred.username, bobCred.credential)).ok).toBe(false);
      // And none are handed out for the ended call.
      const late = await app.inject({ url: `/api/calls/ice-servers?callId=${callId}`, headers: bob.headers });
      expect(late.statusCode).toBe(409);
      expect(await turnRedis.dbsize()).toBe(0);
    });
  });
});
