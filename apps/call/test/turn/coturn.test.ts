// Real coturn, real credentials: what the call service issues must allocate a relay with coturn's own
// client, and call-scoped credentials must stop working once the call has ended.
import { coturnKeys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { redisUrl } from '@voip/testkit/env';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocate, type Coturn, startCoturn } from '../support/coturn.js';
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
    });
    afterAll(async () => {
      await app?.close();
      await turn?.stop();
    });

    it('issues expiry:userId credentials that allocate a relay; a forged password is refused', async () => {
      const res = await app.inject({ url: '/api/calls/ice-servers', headers: alice.headers });
      expect(res.statusCode).toBe(200);
      const body = res.json() as { iceServers: Ice[]; ttlSeconds: number };
      expect(body.ttlSeconds).toBe(3600);
      expect(body.iceServers).toContainEqual({ urls: [`stun:127.0.0.1:${turn.port}`] });
      const { username, credential } = turnOf(body.iceServers);
      const [expiry, userId] = username.split(':');
      expect(userId).toBe(alice.id);
      expect(Number(expiry)).toBeGreaterThan(Date.now() / 1000);

      const good = await allocate(turn, username, credential);
      expect(good.ok, good.output).toBe(true);
      expect(good.received).toBeGreaterThan(0);

      const forged = await allocate(turn, username, `${credential.slice(0, -4)}AAA=`);
      expect(forged.ok).toBe(false);
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
