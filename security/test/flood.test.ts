// Floods from one address — connections, socket events, anonymous and authenticated requests, guest
// sign-ups, password guessing — against the stack with its default limits, while two other users on
// other addresses keep calling each other. Each test counts the victims' completed calls itself: a limit
// that only protects the server and not its users does not pass.
import { randomBytes } from 'node:crypto';
import { Manager } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Account,
  type AttackStack,
  type ClientSocket,
  isAck,
  isApiError,
  startAttackStack,
} from './support/attack-stack.js';
import { wholeCall } from './support/calls.js';

/** Defaults the floods are measured against (each app’s src/config.ts; SECURITY.md lists them all). */
const LIMITS = {
  CONNECTIONS_PER_IP: 60, // signaling, per CONNECTIONS_PER_IP_WINDOW_MS (60 s)
  EVENT_BURST: 100, // signaling, per socket, refilled at EVENTS_PER_SECOND (50)
  EVENTS_PER_SECOND: 50,
  RATE_LIMIT_ANON_MAX: 120, // gateway, per IP per minute
  RATE_LIMIT_CREDENTIALS_MAX: 20, // gateway, register/login/guest per IP per minute
  RATE_LIMIT_AUTH_FAILURES_MAX: 60, // gateway, bad tokens per IP per minute
  LOGIN_MAX_FAILURES_PER_USERNAME_IP: 10, // auth, per 15 min
};

describe('floods from one address', () => {
  let as: AttackStack;
  let alice: Account;
  let bob: Account;
  let aliceSocket: ClientSocket;
  let bobSocket: ClientSocket;

  /** Alice and Bob place `n` whole calls one after the other; resolves with how many completed. */
  const victimsCall = async (n: number) => {
    let completed = 0;
    const errors: string[] = [];
    for (let i = 0; i < n; i++) {
      try {
        await wholeCall(
          as,
          i % 2 ? bob : alice,
          i % 2 ? alice : bob,
          i % 2 ? bobSocket : aliceSocket,
          i % 2 ? aliceSocket : bobSocket,
        );
        completed++;
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    return { completed, errors };
  };

  beforeAll(async () => {
    as = await startAttackStack();
    [alice, bob] = await Promise.all([as.register('Alice'), as.register('Bob')]);
    await as.befriend(alice, bob);
    [aliceSocket, bobSocket] = await Promise.all([as.connect(alice), as.connect(bob)]);
  });

  afterAll(async () => {
    await as?.stop();
  });

  it('a connection flood is refused past CONNECTIONS_PER_IP while the victims’ calls go through', async () => {
    const attackerAddress = as.nextAddress();
    const mallory = await as.register('Mallory', attackerAddress);
    const attempts = LIMITS.CONNECTIONS_PER_IP + 40;
    const calls = victimsCall(3);
    // Engine.io sessions that never send CONNECT, alongside: they must not starve anyone either.
    const raw = Array.from({ length: 50 }, () => {
      const m = new Manager(as.base, {
        path: '/socket.io',
        transports: ['websocket'],
        reconnection: false,
        autoConnect: false,
        localAddress: attackerAddress,
      } as ConstructorParameters<typeof Manager>[1]);
      m.open();
      return m;
    });
    const results = await Promise.allSettled(
      Array.from({ length: attempts }, () => as.connect(mallory, { from: attackerAddress })),
    );
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    const codes = refused.map((r) => (r.reason as { data?: { code?: string } }).data?.code);
    expect(refused.length, 'connections over the per-address limit').toBeGreaterThanOrEqual(
      attempts - LIMITS.CONNECTIONS_PER_IP,
    );
    expect(new Set(codes)).toEqual(new Set(['RATE_LIMITED']));
    const { completed, errors } = await calls;
    expect(errors).toEqual([]);
    expect(completed).toBe(3);
    // Someone else can still connect, from their own address, during the attacker's window.
    const carol = await as.register('Carol');
    const socket = await as.connect(carol);
    expect(await socket.timeout(20_000).emitWithAck('heartbeat', {})).toMatchObject({ ok: true });
    socket.disconnect();
    for (const r of results) if (r.status === 'fulfilled') r.value.disconnect();
    for (const m of raw) m.engine?.close();
  });

  it('an event flood on one socket gets RATE_LIMITED acks past the burst, and the socket and the victims’ calls live on', async () => {
    const mallory = await as.register('Mallory2');
    const socket = await as.connect(mallory);
    const calls = victimsCall(3);
    const events = 1000;
    const started = Date.now();
    const acks = await Promise.all(
      Array.from({ length: events }, (_, i) =>
        (socket.timeout(30_000).emitWithAck as (e: string, p: unknown) => Promise<unknown>)(
          i % 2 ? 'heartbeat' : 'ice-candidate',
          i % 2 ? {} : { callId: '01HZZZZZZZZZZZZZZZZZZZZZZZ', candidate: null },
        ),
      ),
    );
    const elapsedS = (Date.now() - started) / 1000;
    for (const ack of acks) expect(isAck(ack)).toBe(true);
    const limited = acks.filter(
      (a) => (a as { error?: { code: string } }).error?.code === 'RATE_LIMITED',
    ).length;
    const allowed = events - limited;
    expect(allowed).toBeLessThanOrEqual(
      LIMITS.EVENT_BURST + Math.ceil(elapsedS * LIMITS.EVENTS_PER_SECOND) + 1,
    );
    expect(limited).toBeGreaterThan(0);
    const { completed, errors } = await calls;
    expect(errors).toEqual([]);
    expect(completed).toBe(3);
    // The flooder is slowed, not dropped: after a pause it is served again.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await socket.timeout(20_000).emitWithAck('heartbeat', {})).toMatchObject({ ok: true });
    socket.disconnect();
  });

  it('request floods get 429 with Retry-After at the gateway’s limits while the victims’ calls go through', async () => {
    const x = as.nextAddress();
    const calls = victimsCall(3);
    const statuses = async (
      n: number,
      make: () => Promise<{ status: number; headers: Record<string, unknown>; body: unknown }>,
    ) => {
      const out: number[] = [];
      for (let i = 0; i < n; i += 20) {
        const batch = await Promise.all(Array.from({ length: Math.min(20, n - i) }, make));
        for (const r of batch) {
          out.push(r.status);
          if (r.status === 429) {
            expect(isApiError(r.body)).toBe(true);
            expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
          }
        }
      }
      return out;
    };
    // Anonymous: refresh with junk tokens (each a 401 until the per-address budget is spent).
    const anon = await statuses(LIMITS.RATE_LIMIT_ANON_MAX + 30, () =>
      as.http('POST', '/api/auth/refresh', {
        body: { refreshToken: randomBytes(32).toString('base64url') },
        from: x,
      }),
    );
    expect(anon.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30);
    expect(anon.every((s) => s === 401 || s === 429)).toBe(true);
    // Bad tokens: 401s turn into 429s.
    const y = as.nextAddress();
    const bad = await statuses(LIMITS.RATE_LIMIT_AUTH_FAILURES_MAX + 20, () =>
      as.http('GET', '/api/users/me', { token: `junk.${randomBytes(20).toString('base64url')}.x`, from: y }),
    );
    expect(bad.filter((s) => s === 429).length).toBeGreaterThanOrEqual(20);
    // Guest sign-ups: free accounts are not free in bulk.
    const z = as.nextAddress();
    const guests = await statuses(LIMITS.RATE_LIMIT_CREDENTIALS_MAX + 10, () =>
      as.http('POST', '/api/auth/guest', { body: { displayName: 'Flood' }, from: z }),
    );
    expect(guests.filter((s) => s === 201).length).toBeLessThanOrEqual(LIMITS.RATE_LIMIT_CREDENTIALS_MAX);
    expect(guests.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    const { completed, errors } = await calls;
    expect(errors).toEqual([]);
    expect(completed).toBe(3);
  });

  it('password guessing is stopped per (username, address) while the owner still signs in from elsewhere', async () => {
    const x = as.nextAddress();
    const statuses: number[] = [];
    for (let i = 0; i < LIMITS.LOGIN_MAX_FAILURES_PER_USERNAME_IP + 3; i++) {
      const res = await as.http('POST', '/api/auth/login', {
        body: { username: alice.username, password: `guess-${i}-${randomBytes(4).toString('hex')}` },
        from: x,
      });
      expect(isApiError(res.body)).toBe(true);
      statuses.push(res.status);
    }
    expect(statuses.slice(0, LIMITS.LOGIN_MAX_FAILURES_PER_USERNAME_IP).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(LIMITS.LOGIN_MAX_FAILURES_PER_USERNAME_IP).every((s) => s === 429)).toBe(true);
    // Even the right password from the guesser's address waits out the window...
    const fromGuesser = await as.http('POST', '/api/auth/login', {
      body: { username: alice.username, password: alice.password },
      from: x,
    });
    expect(fromGuesser.status).toBe(429);
    // ...but Alice, from her own address, is not locked out.
    const owner = await as.http('POST', '/api/auth/login', {
      body: { username: alice.username, password: alice.password },
      from: alice.from,
    });
    expect(owner.status, owner.text).toBe(200);
    as.remember('access token', owner.body.accessToken);
    as.remember('refresh token', owner.body.refreshToken);
  });

  it('services are alive, logged no unhandled error, and no secret reached any log', async () => {
    await as.assertAlive();
    expect(as.logLinesWith(new RegExp(alice.id)).length).toBeGreaterThan(0);
    expect(as.logLinesWith(/unhandled/i)).toEqual([]);
    expect(as.leakedSecrets()).toEqual([]);
  });
});
