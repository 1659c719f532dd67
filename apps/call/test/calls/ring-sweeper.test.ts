// The sweeper as configured, not called by hand: a call nobody answers ends as no-answer on its own
// and reaches the callee's history as missed, with signaling nowhere (the reason this service sweeps).
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, callEnv, signIn, startCallService } from '../support/harness.js';
import { startUserServiceStandIn, type UserServiceStandIn } from '../support/user-service.js';

const DB = 10;

describe('ring sweeper (RING_SWEEP_INTERVAL_MS on)', () => {
  let users: UserServiceStandIn;
  let app: App;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    users = await startUserServiceStandIn();
    app = await startCallService(
      callEnv(DB, {
        USER_SERVICE_URL: users.url,
        RING_SWEEP_INTERVAL_MS: '100',
        // The shortest ring the config allows.
        RING_TIMEOUT_MS: '1000',
      }),
    );
    await app.redis.flushdb();
    alice = await signIn(app.redis, 'user', 'Alice');
    bob = await signIn(app.redis, 'user', 'Bob');
    for (const a of [alice, bob]) users.users.set(a.id, { displayName: a.displayName });
  });
  afterAll(async () => {
    await app?.close();
    await users?.close();
  });

  it('ends a call nobody answers as no-answer by itself, missed in the callee’s history', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/calls',
      headers: alice.headers,
      payload: { calleeId: bob.id, media: 'audio' },
    });
    expect(res.statusCode).toBe(201);
    const { callId } = res.json() as { callId: string };
    expect((await app.callService.store.get(callId))?.state).toBe('ringing');

    await expect
      .poll(
        async () => {
          const page = await app.inject({ url: '/api/calls', headers: bob.headers });
          return (page.json() as { items: Array<{ callId: string }> }).items.find((i) => i.callId === callId);
        },
        { timeout: 15_000, interval: 100 },
      )
      .toMatchObject({ callId, outcome: 'missed', direction: 'incoming' });

    expect(await app.callService.store.get(callId)).toMatchObject({
      state: 'ended',
      endReason: 'no-answer',
    });
    const forBob = await app.inject({ url: `/api/calls/${callId}`, headers: bob.headers });
    expect(forBob.json()).toMatchObject({ state: 'ended', endReason: 'no-answer', outcome: 'missed' });
    const forAlice = await app.inject({ url: '/api/calls', headers: alice.headers });
    expect((forAlice.json() as { items: unknown[] }).items).toEqual([
      expect.objectContaining({ callId, outcome: 'missed', direction: 'outgoing' }),
    ]);
  });
});
