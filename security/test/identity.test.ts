// Who you are and what that lets you reach: forged and stale tokens, refresh-token replay, guest and user
// tokens on admin and internal routes, another user's data, and events injected into someone else's call.
// Everything goes through Nginx, as a stranger on the internet would, except where the attacker is an
// insider on the internal network (then the service's own port, without the internal credential).
import { publicRoutes } from '@voip/contracts/public-routes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  type AttackStack,
  type ClientSocket,
  isAck,
  isApiError,
  sleep,
  startAttackStack,
} from './support/attack-stack.js';
import { ANSWER, answer, OFFER, ring, wholeCall } from './support/calls.js';
import { FORGERIES, forge } from './support/forge.js';

/** A concrete path for a route: every `:param` filled with a syntactically valid id. */
const concrete = (url: string, id = '01HZZZZZZZZZZZZZZZZZZZZZZZ') => url.replace(/:[A-Za-z]+/g, id);

describe('identity attacks', () => {
  let as: AttackStack;
  let alice: Account;
  let bob: Account;
  let mallory: Account;
  let gus: Account;
  let aliceSocket: ClientSocket;
  let bobSocket: ClientSocket;
  let endedCallId: string;

  beforeAll(async () => {
    as = await startAttackStack();
    [alice, bob, mallory, gus] = await Promise.all([
      as.register('Alice'),
      as.register('Bob'),
      as.register('Mallory'),
      as.guest('Gus'),
    ]);
    await as.befriend(alice, bob);
    [aliceSocket, bobSocket] = await Promise.all([as.connect(alice), as.connect(bob)]);
    // Data of Alice's that others must never see: a finished call, a push device, contacts, a sync feed.
    endedCallId = await wholeCall(as, alice, bob, aliceSocket, bobSocket);
    const device = await as.http('PUT', '/api/users/me/devices/alice-phone', {
      token: alice.accessToken,
      from: alice.from,
      body: { platform: 'android', pushToken: 'alice-secret-push-token-0123456789' },
    });
    expect(device.status, device.text).toBe(200);
    as.remember('push token', 'alice-secret-push-token-0123456789');
  });

  afterAll(async () => {
    await as?.stop();
  });

  describe('forged access tokens are refused everywhere', () => {
    it.each(Object.keys(FORGERIES))('%s', async (name) => {
      const token = forge(as.stateDir, alice.accessToken, name);
      const from = as.nextAddress();
      // Through Nginx → gateway (the edge check) on a read and a write, and on a service's own port.
      for (const [method, path] of [
        ['GET', '/api/users/me'],
        ['GET', '/api/calls'],
        ['POST', '/api/auth/logout'],
        ['DELETE', '/api/auth/guest/cleanup-all'],
      ] as const) {
        const res = await as.http(method, path, { token, from });
        expect(res.status, `${method} ${path}: ${res.text}`).toBe(401);
        expect(isApiError(res.body), res.text).toBe(true);
        expect(['UNAUTHORIZED', 'TOKEN_EXPIRED', 'SESSION_REVOKED']).toContain(res.body.error.code);
      }
      const direct = await fetch(`${as.stack.service('user').url}/api/users/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(direct.status).toBe(401);
      // The Socket.io handshake refuses it with a connect_error code of API.md.
      const err = await as.connect({ ...alice, accessToken: token }, { from }).then(
        () => null,
        (e: Error & { data?: { code?: string } }) => e,
      );
      expect(err, 'socket connected with a forged token').not.toBeNull();
      expect(['UNAUTHORIZED', 'TOKEN_EXPIRED', 'SESSION_REVOKED']).toContain(err?.data?.code);
      // Alice's real session is untouched by all this.
      expect(
        (await as.http('GET', '/api/users/me', { token: alice.accessToken, from: alice.from })).status,
      ).toBe(200);
    });

    it('refuses the token of a revoked session, over REST and on the socket', async () => {
      const victim = await as.register('Revoked');
      const socket = await as.connect(victim);
      const revoked = new Promise<{ reason: string }>((r) => socket.once('session-revoked', r));
      const out = await as.http('POST', '/api/auth/logout', { token: victim.accessToken, from: victim.from });
      expect(out.status).toBe(204);
      expect((await revoked).reason).toBe('logout');
      const res = await as.http('GET', '/api/users/me', { token: victim.accessToken, from: victim.from });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('SESSION_REVOKED');
      const err = await as.connect(victim).then(
        () => null,
        (e: Error & { data?: { code?: string } }) => e,
      );
      expect(err?.data?.code).toBe('SESSION_REVOKED');
    });
  });

  it('revokes the whole session when a used refresh token is replayed, and only that session', async () => {
    const victim = await as.register('Replayed');
    // The same account signed in on a second device: that session must survive the replay.
    const login = await as.http('POST', '/api/auth/login', {
      body: { username: victim.username, password: victim.password },
      from: victim.from,
    });
    expect(login.status, login.text).toBe(200);
    as.remember('access token', login.body.accessToken);
    as.remember('refresh token', login.body.refreshToken);
    const socket = await as.connect(victim);
    const revoked = new Promise<{ reason: string }>((r) => socket.once('session-revoked', r));

    const first = await as.http('POST', '/api/auth/refresh', {
      body: { refreshToken: victim.refreshToken },
      from: victim.from,
    });
    expect(first.status, first.text).toBe(200);
    as.remember('access token', first.body.accessToken);
    as.remember('refresh token', first.body.refreshToken);
    // The thief replays the old one (from another address): refused, and the session is gone.
    const thief = as.nextAddress();
    const replay = await as.http('POST', '/api/auth/refresh', {
      body: { refreshToken: victim.refreshToken },
      from: thief,
    });
    expect(replay.status).toBe(401);
    expect(isApiError(replay.body)).toBe(true);
    expect(replay.body.error.code).toBe('SESSION_REVOKED');
    for (const token of [victim.accessToken, first.body.accessToken]) {
      const res = await as.http('GET', '/api/users/me', { token, from: victim.from });
      expect(res.status).toBe(401);
    }
    const again = await as.http('POST', '/api/auth/refresh', {
      body: { refreshToken: first.body.refreshToken },
      from: victim.from,
    });
    expect(again.status).toBe(401);
    expect((await revoked).reason).toBe('refresh-token-reuse');
    // The other device keeps working.
    const other = await as.http('GET', '/api/users/me', { token: login.body.accessToken, from: victim.from });
    expect(other.status).toBe(200);
    // Unknown and malformed refresh tokens are plain 401/400s.
    const unknown = await as.http('POST', '/api/auth/refresh', {
      body: { refreshToken: 'x'.repeat(43) },
      from: thief,
    });
    expect(unknown.status).toBe(401);
    expect(isApiError(unknown.body)).toBe(true);
  });

  describe('guest and user tokens on admin routes', () => {
    const adminRoutes = publicRoutes.filter((r) => r.access === 'admin');

    it.each(adminRoutes.map((r) => [`${r.method} ${r.url}`, r] as const))('%s', async (_name, route) => {
      const query = route.schema.querystring ? '?before=2100-01-01T00:00:00.000Z' : '';
      for (const who of [gus, mallory]) {
        const res = await as.http(route.method, `${concrete(route.url, who.id)}${query}`, {
          token: who.accessToken,
          from: who.from,
        });
        expect(res.status, `${who.kind}: ${res.text}`).toBe(403);
        expect(res.body.error.code).toBe('FORBIDDEN');
      }
      // The internal credential is worthless from outside: the gateway strips it.
      const res = await as.http(route.method, `${concrete(route.url, gus.id)}${query}`, {
        token: gus.accessToken,
        from: gus.from,
        headers: { 'x-internal-token': as.stack.internalToken },
      });
      expect(res.status).toBe(403);
    });

    it('left every guest and session in place', async () => {
      for (const who of [gus, mallory, alice]) {
        const res = await as.http('GET', '/api/auth/me', { token: who.accessToken, from: who.from });
        expect(res.status, res.text).toBe(200);
      }
    });
  });

  describe('internal routes', () => {
    const internal = [
      ['GET', `/internal/users/ID/reachability?callerId=ID`],
      ['GET', `/internal/users/ID/devices`],
      ['POST', '/internal/push-tokens/invalidate'],
    ] as const;

    it('are not reachable through Nginx by any path, with any token', async () => {
      for (const [method, path] of internal) {
        for (const prefix of ['', '/api', '/api/users', '/api/calls', '/api/auth', '/socket.io']) {
          const res = await as.http(method, `${prefix}${path.replaceAll('ID', alice.id)}`, {
            token: gus.accessToken,
            from: gus.from,
            headers: { 'x-internal-token': as.stack.internalToken },
            ...(method === 'POST' ? { body: { pushTokens: ['alice-secret-push-token-0123456789'] } } : {}),
          });
          expect(res.status, `${prefix}${path}`).toBe(404);
          expect(isApiError(res.body), res.text).toBe(true);
          expect(res.text).not.toContain('alice-secret-push-token');
        }
      }
    });

    it('refuse an insider on the internal network holding a guest or user token but not the credential', async () => {
      const user = as.stack.service('user').url;
      for (const [method, path] of internal) {
        for (const who of [gus, mallory]) {
          const res = await fetch(`${user}${path.replaceAll('ID', alice.id)}`, {
            method,
            headers: { authorization: `Bearer ${who.accessToken}`, 'content-type': 'application/json' },
            ...(method === 'POST'
              ? { body: JSON.stringify({ pushTokens: ['alice-secret-push-token-0123456789'] }) }
              : {}),
          });
          const text = await res.text();
          expect(res.status, `${who.kind} ${path}: ${text}`).toBe(403);
          expect(text).not.toContain('alice-secret-push-token');
        }
        const wrong = await fetch(`${user}${path.replaceAll('ID', alice.id)}`, {
          method,
          headers: {
            'x-internal-token': `${as.stack.internalToken.slice(0, -1)}x`,
            'content-type': 'application/json',
          },
          ...(method === 'POST' ? { body: JSON.stringify({ pushTokens: ['x'] }) } : {}),
        });
        expect(wrong.status).toBe(401);
      }
      // Alice's device is still registered (the invalidate attempts did nothing).
      const devices = await as.http('GET', '/api/users/me/devices', {
        token: alice.accessToken,
        from: alice.from,
      });
      expect(devices.body.items.map((d: { deviceId: string }) => d.deviceId)).toContain('alice-phone');
    });
  });

  describe("another user's data", () => {
    it.each([
      ['user', () => mallory],
      ['guest', () => gus],
    ] as const)(
      'a %s cannot read Alice’s calls, history, devices, contacts or sync feed',
      async (_kind, who) => {
        const m = who();
        const get = (path: string) => as.http('GET', path, { token: m.accessToken, from: m.from });
        const call = await get(`/api/calls/${endedCallId}`);
        expect(call.status).toBe(404);
        expect(isApiError(call.body)).toBe(true);
        const unknown = await get('/api/calls/01HZZZZZZZZZZZZZZZZZZZZZZZ');
        // Same answer as for an id that does not exist: the call's existence is not revealed.
        expect(unknown.status).toBe(404);
        expect(call.body.error.code).toBe(unknown.body.error.code);

        const history = await get('/api/calls?limit=100');
        expect(history.status).toBe(200);
        expect(history.text).not.toContain(endedCallId);
        const devices = await get('/api/users/me/devices');
        expect(devices.status).toBe(200);
        expect(devices.text).not.toContain('alice-phone');
        expect(devices.text).not.toContain('alice-secret-push-token');
        const contacts = await get('/api/users/me/contacts');
        expect(contacts.status).toBe(200);
        expect(contacts.text).not.toContain(bob.id);
        const sync = await get('/api/users/sync/changes');
        expect(sync.status).toBe(200);
        expect(sync.text).not.toContain(endedCallId);
        expect(sync.text).not.toContain(bob.id);
        // Alice's own cursor does not open her feed to someone else.
        const aliceSync = await as.http('GET', '/api/users/sync/changes', {
          token: alice.accessToken,
          from: alice.from,
        });
        expect(aliceSync.text).toContain(endedCallId);
        const withHerCursor = await get(`/api/users/sync/changes?since=${encodeURIComponent('0')}`);
        expect(withHerCursor.text).not.toContain(endedCallId);
        expect(withHerCursor.text).not.toContain(bob.id);
        // Her profile as others see it carries no push token, no DND detail beyond the public fields.
        const profile = await get(`/api/users/${alice.id}`);
        expect(profile.status).toBe(200);
        expect(profile.text).not.toContain('alice-secret-push-token');
        expect(profile.body).not.toHaveProperty('doNotDisturb');
        // Paths that name her instead of "me" do not exist.
        for (const path of [
          `/api/users/${alice.id}/contacts`,
          `/api/users/${alice.id}/devices`,
          `/api/users/${alice.id}/blocks`,
          `/api/users/sync/changes/${alice.id}`,
          `/api/calls/${endedCallId}/history`,
        ]) {
          const res = await get(path);
          expect(res.status, path).toBe(404);
          expect(res.text).not.toContain('alice-secret-push-token');
        }
      },
    );
  });

  describe('third-party events into a live call', () => {
    const attacks = (callId: string) =>
      [
        ['call-user', { callId, offer: OFFER }],
        ['accept-call', { callId, answer: ANSWER }],
        [
          'ice-candidate',
          {
            callId,
            candidate: {
              candidate: 'candidate:9 1 udp 1 6.6.6.6 6666 typ host',
              sdpMid: '0',
              sdpMLineIndex: 0,
            },
          },
        ],
        ['ice-candidate', { callId, candidate: null }],
        ['renegotiate', { callId, description: { type: 'offer', sdp: 'v=0\r\nevil' } }],
        ['reject-call', { callId, reason: 'busy' }],
        ['end-call', { callId, reason: 'hangup' }],
      ] as const;

    it.each([
      ['a registered user', () => mallory, undefined],
      ['a guest', () => gus, undefined],
      ["a user reusing Bob's clientId", () => mallory, 'bob'],
    ] as const)('%s gets FORBIDDEN for every call event, and the call goes on', async (_name, who, reuse) => {
      const callId = await ring(as, alice, bob, aliceSocket, bobSocket);
      const seen: string[] = [];
      for (const s of [aliceSocket, bobSocket])
        for (const ev of [
          'ice-candidate',
          'renegotiate',
          'call-ended',
          'call-rejected',
          'call-accepted',
          'call-answered-elsewhere',
        ])
          (s.on as (e: string, f: (p: { callId?: string }) => void) => void)(ev, (p) => {
            if (p?.callId === callId) seen.push(ev);
          });
      const attacker = await as.connect(
        who(),
        reuse ? { clientId: (bobSocket.auth as { clientId: string }).clientId } : {},
      );
      // Once while the call rings, once after it is answered.
      for (const phase of ['ringing', 'accepted'] as const) {
        if (phase === 'accepted') await answer(callId, aliceSocket, bobSocket);
        seen.length = 0;
        for (const [event, payload] of attacks(callId)) {
          const ack = await (
            attacker.timeout(20_000).emitWithAck as (e: string, p: unknown) => Promise<unknown>
          )(event, payload);
          expect(isAck(ack), JSON.stringify(ack)).toBe(true);
          expect(ack, `${phase} ${event}`).toMatchObject({ ok: false });
          expect(['FORBIDDEN', 'CALL_NOT_FOUND']).toContain((ack as { error: { code: string } }).error.code);
        }
        await sleep(300);
        expect(seen, `${phase}: events reached the participants`).toEqual([]);
        const state = await as.http('GET', `/api/calls/${callId}`, {
          token: alice.accessToken,
          from: alice.from,
        });
        expect(state.body.state).toBe(phase);
      }
      expect(bobSocket.connected).toBe(true);
      attacker.disconnect();
      const ended = new Promise((r) => aliceSocket.once('call-ended', r));
      await bobSocket.timeout(20_000).emitWithAck('end-call', { callId, reason: 'hangup' });
      await ended;
    });
  });

  it('services are alive, logged no unhandled error, and no secret reached any log', async () => {
    await as.assertAlive();
    // The logs were really captured (the search below is not vacuous), and none says "unhandled".
    expect(as.logLinesWith(new RegExp(alice.id)).length).toBeGreaterThan(0);
    expect(as.logLinesWith(/unhandled/i)).toEqual([]);
    expect(as.secrets.size).toBeGreaterThan(10);
    expect(as.leakedSecrets()).toEqual([]);
  });
});
