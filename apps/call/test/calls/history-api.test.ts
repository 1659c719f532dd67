import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, callEnv, eventually, signIn, startCallService } from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 7;

describe('GET /api/calls and GET /api/calls/:callId', () => {
  let users: UserServiceStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;
  let mallory: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    app = await startCallService(callEnv(DB, { USER_SERVICE_URL: users.url }));
    await app.redis.flushdb();
    alice = await signIn(app.redis, 'user', 'Alice');
    bob = await signIn(app.redis, 'user', 'Bob');
    mallory = await signIn(app.redis, 'user', 'Mallory');
    for (const a of [alice, bob, mallory]) users.users.set(a.id, { displayName: a.displayName });
  });
  afterAll(async () => {
    await app?.close();
    await users?.close();
  });

  const initiate = async (from: Account, to: Account) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: from.headers,
      payload: { calleeId: to.id, media: 'audio' },
    });
    expect(res.statusCode).toBe(201);
    return res.json().callId as string;
  };
  const recorded = (callId: string) =>
    eventually(
      async () =>
        (await app.callService.calls.model.collection.findOne({ _id: callId as never }))?.state === 'ended',
    );
  const page = async (who: Account, query = '') => {
    const res = await app.inject({ url: `/api/calls${query}`, headers: who.headers });
    expect(res.statusCode).toBe(200);
    return res.json() as {
      items: Array<{ callId: string; outcome: string; direction: string }>;
      nextCursor: string | null;
    };
  };
  /** An answered call that lasted a moment. */
  const answeredCall = async (from: Account, to: Account) => {
    const callId = await initiate(from, to);
    const { store } = app.callService;
    expect(
      (await store.transition(callId, { type: 'accept' }, { byUserId: to.id, clientId: 'phone' })).ok,
    ).toBe(true);
    expect((await store.transition(callId, { type: 'hangup' }, { byUserId: from.id })).ok).toBe(true);
    await recorded(callId);
    return callId;
  };

  it('shows a call to its participants only, live while it goes on and final once ended', async () => {
    const callId = await initiate(alice, bob);
    const ringing = await app.inject({ url: `/api/calls/${callId}`, headers: bob.headers });
    expect(ringing.statusCode).toBe(200);
    expect(ringing.json()).toMatchObject({
      callId,
      callerId: alice.id,
      calleeId: bob.id,
      state: 'ringing',
      outcome: null,
    });

    // Strangers and unknown ids get the same 404: existence is never leaked.
    const stranger = await app.inject({ url: `/api/calls/${callId}`, headers: mallory.headers });
    const unknown = await app.inject({
      url: '/api/calls/01NOTACALL0000000000000000',
      headers: mallory.headers,
    });
    expect(stranger.statusCode).toBe(404);
    expect(stranger.json()).toEqual(unknown.json());
    expect(stranger.json().error.code).toBe('CALL_NOT_FOUND');

    await app.callService.store.transition(
      callId,
      { type: 'accept' },
      { byUserId: bob.id, clientId: 'phone' },
    );
    expect((await app.inject({ url: `/api/calls/${callId}`, headers: alice.headers })).json().state).toBe(
      'accepted',
    );

    await app.callService.store.transition(callId, { type: 'hangup' }, { byUserId: bob.id });
    await recorded(callId);
    const ended = (await app.inject({ url: `/api/calls/${callId}`, headers: alice.headers })).json();
    expect(ended).toMatchObject({
      state: 'ended',
      endReason: 'hangup',
      outcome: 'answered',
      answeredAt: expect.any(String),
      push: 'none',
    });
    expect(ended.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('pages newest first with a cursor that stays stable when calls are added meanwhile', async () => {
    const carol = await signIn(app.redis, 'user', 'Carol');
    const dave = await signIn(app.redis, 'user', 'Dave');
    users.users.set(carol.id, { displayName: 'Carol' });
    users.users.set(dave.id, { displayName: 'Dave' });
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await answeredCall(i % 2 ? carol : dave, i % 2 ? dave : carol));
    const newestFirst = [...made].reverse();

    const first = await page(carol, '?limit=2');
    expect(first.items.map((i) => i.callId)).toEqual(newestFirst.slice(0, 2));
    expect(first.nextCursor).toEqual(expect.any(String));

    // A new call lands on top while the client is paging: the next pages neither repeat nor skip.
    const newer = await answeredCall(dave, carol);
    const seen = [...first.items.map((i) => i.callId)];
    let cursor = first.nextCursor;
    while (cursor) {
      const p = await page(carol, `?limit=2&before=${encodeURIComponent(cursor)}`);
      seen.push(...p.items.map((i) => i.callId));
      cursor = p.nextCursor;
    }
    expect(seen).toEqual(newestFirst);
    expect((await page(carol, '?limit=1')).items[0]?.callId).toBe(newer);

    const daves = await page(dave, '?limit=100');
    expect(daves.items.map((i) => i.callId)).toEqual([newer, ...newestFirst]);
    expect(new Set(daves.items.map((i) => i.direction))).toEqual(new Set(['incoming', 'outgoing']));
  });

  it('rejects a cursor it did not issue and bad limits', async () => {
    expect((await app.inject({ url: '/api/calls?before=garbage', headers: alice.headers })).statusCode).toBe(
      400,
    );
    expect((await app.inject({ url: '/api/calls?limit=0', headers: alice.headers })).statusCode).toBe(400);
    expect((await app.inject({ url: '/api/calls' })).statusCode).toBe(401);
  });
});
