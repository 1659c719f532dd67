// SignalingClient's reconnection for real: its retry timers against a server that refuses every
// connection (on a fake clock, so each delay is read off the clock the client uses), and against the
// real stack through Nginx: `server-shutdown`'s reconnectAfterMs overrides the back-off, and a
// successful connection starts the next outage's back-off from the first step again.
import { createServer, type Server, type Socket } from 'node:net';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ConnectionSnapshot } from '../src/connection-state.js';
import { SignalingClient } from '../src/signaling-client.js';
import { memoryStorage } from '../src/storage.js';
import { VoipClient } from '../src/voip.js';
import { startTestStack, type TestStack } from './support/stack.js';

// Captured before any test fakes the timers: waiting for real sockets must not depend on them.
const realSetTimeout = globalThis.setTimeout;
const realSleep = (ms: number) => new Promise((r) => realSetTimeout(r, ms));

type Seen = ConnectionSnapshot & { seenAt: number };

/** Records every state the client reports, with the (possibly fake) time it reported it. */
function recordStates(client: SignalingClient): Seen[] {
  const seen: Seen[] = [];
  client.on('state', (s) => seen.push({ ...s, seenAt: Date.now() }));
  return seen;
}

/**
 * Waits in real time (socket I/O) for a recorded state. With fake timers it also moves the clock on by
 * 1 ms a round: engine.io reports a failed long-poll from a 0 ms timer, which runs 1 ms later.
 */
async function untilSeen(seen: Seen[], match: (s: Seen) => boolean, what: string): Promise<Seen> {
  for (let i = 0; i < 800; i++) {
    const hit = seen.find(match);
    if (hit) return hit;
    if (vi.isFakeTimers()) await vi.advanceTimersByTimeAsync(1);
    await realSleep(10);
  }
  throw new Error(`state never reported: ${what}; saw ${JSON.stringify(seen)}`);
}

describe('SignalingClient back-off against a server that refuses every connection', () => {
  let refuser: Server;
  let port: number;
  let connections = 0;
  let client: SignalingClient | undefined;

  beforeAll(async () => {
    // Accepts TCP and drops it at once: every handshake (WebSocket, then long-polling) fails.
    refuser = createServer((socket: Socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => refuser.listen(0, '127.0.0.1', resolve));
    port = (refuser.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => refuser.close(() => resolve())));
  afterEach(() => {
    client?.disconnect();
    vi.useRealTimers();
  });

  it('retries after 1, 2, 4, 8 and 16 s (each within its jitter bounds), then fails after the 5th', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    client = new SignalingClient({
      url: `http://127.0.0.1:${port}`,
      clientId: ulid(),
      token: async () => 'never-checked',
      refreshToken: async () => 'never-checked',
    });
    const seen = recordStates(client);
    client.connect();
    expect(seen[0]).toMatchObject({ state: 'connecting', attempt: 0 });

    const steps = [1000, 2000, 4000, 8000, 16_000];
    for (const [i, step] of steps.entries()) {
      const attempt = i + 1;
      const lost = await untilSeen(
        seen,
        (s) => s.state === 'reconnecting' && s.attempt === attempt && s.nextRetryAt !== undefined,
        `try ${attempt} scheduled`,
      );
      const delay = lost.nextRetryAt! - lost.seenAt;
      // Default jitter 0.5: uniform in [step/2, step] (backoff.ts).
      expect(delay).toBeGreaterThanOrEqual(step / 2);
      expect(delay).toBeLessThanOrEqual(step);
      const connectionsBefore = connections;

      // The try starts exactly when announced: not a millisecond earlier.
      const retried = (s: Seen) =>
        s.state === 'reconnecting' && s.attempt === attempt && s.nextRetryAt === undefined;
      await vi.advanceTimersByTimeAsync(lost.nextRetryAt! - Date.now() - 1);
      expect(seen.some(retried)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(seen.some(retried)).toBe(true);
      // …and it really goes out on the network.
      for (let w = 0; w < 500 && connections === connectionsBefore; w++) await realSleep(10);
      expect(connections).toBeGreaterThan(connectionsBefore);
    }

    const failed = await untilSeen(seen, (s) => s.state === 'failed', 'failed');
    expect(failed).toMatchObject({ state: 'failed', attempt: 5, lastError: { code: 'CONNECT_FAILED' } });
    expect(client.state).toBe('failed');
    expect(seen.map((s) => `${s.state}:${s.attempt}`)).toEqual([
      'connecting:0',
      ...[1, 2, 3, 4, 5].flatMap((a) => [`reconnecting:${a}`, `reconnecting:${a}`]),
      'failed:5',
    ]);
    // Nothing is scheduled after failing: no more tries, however long one waits.
    const connectionsAtFailure = connections;
    await vi.advanceTimersByTimeAsync(60_000);
    await realSleep(100);
    expect(connections).toBe(connectionsAtFailure);
    expect(seen.at(-1)?.state).toBe('failed');
  });

  it('follows the exact schedule at the edges of the jitter (random 0 and ~1)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    for (const [random, expected] of [
      [() => 0, [500, 1000, 2000, 4000, 8000]],
      [() => 0.999_999, [1000, 2000, 4000, 8000, 16_000]],
    ] as const) {
      client = new SignalingClient({
        url: `http://127.0.0.1:${port}`,
        clientId: ulid(),
        token: async () => 'never-checked',
        refreshToken: async () => 'never-checked',
        backoff: { random },
      });
      const seen = recordStates(client);
      client.connect();
      const delays: number[] = [];
      for (let attempt = 1; attempt <= 5; attempt++) {
        const lost = await untilSeen(
          seen,
          (s) => s.state === 'reconnecting' && s.attempt === attempt && s.nextRetryAt !== undefined,
          `try ${attempt} scheduled`,
        );
        delays.push(lost.nextRetryAt! - lost.seenAt);
        await vi.advanceTimersByTimeAsync(lost.nextRetryAt! - Date.now());
      }
      await untilSeen(seen, (s) => s.state === 'failed', 'failed');
      expect(delays).toEqual(expected);
      client.disconnect();
    }
  });
});

describe('SignalingClient reconnection through the stack (Nginx → one signaling instance)', () => {
  const RECONNECT_AFTER_MS = 8000;
  let stack: TestStack;
  let client: VoipClient | undefined;

  beforeAll(async () => {
    stack = await startTestStack({
      services: ['auth', 'user', 'signaling', 'gateway'],
      signalingInstances: 1,
      coturn: false,
      serviceEnv: {
        // server-shutdown names a fixed time, and the drain kicks the client long before it: only
        // reconnectAfterMs can keep the client from trying again at its first back-off step.
        signaling: {
          SHUTDOWN_RECONNECT_AFTER_MS: String(RECONNECT_AFTER_MS),
          SHUTDOWN_RECONNECT_JITTER_MS: '0',
          SHUTDOWN_DRAIN_MS: '200',
        },
      },
    });
  });
  afterAll(async () => {
    client?.disconnect();
    await stack?.dispose();
  });

  it('waits for server-shutdown’s reconnectAfterMs, and a connection that succeeds resets the back-off', async () => {
    // No jitter: each step of the back-off is its exact delay.
    client = new VoipClient({ url: stack.url, storage: memoryStorage(), backoff: { jitter: 0 } });
    await client.auth.guest('Rita');
    const seen = recordStates(client.signaling);
    client.connect();
    await untilSeen(seen, (s) => s.state === 'connected', 'connected');

    const shutdown = client.signaling.next('server-shutdown');
    const since = seen.length;
    const before = Date.now();
    const stopping = stack.stop('signaling', 0);
    expect((await shutdown).reconnectAfterMs).toBe(RECONNECT_AFTER_MS);
    const kicked = await untilSeen(
      seen,
      (s) => seen.indexOf(s) >= since && s.state === 'reconnecting',
      'kicked',
    );
    await stopping;
    // Dropped by the drain, not by the client leaving at the time it was given…
    expect(kicked).toMatchObject({ attempt: 1, lastError: { code: 'DISCONNECTED' } });
    // …and still the next try waits for that time, instead of the first back-off step (1 s).
    expect(kicked.nextRetryAt).toBeGreaterThanOrEqual(before + RECONNECT_AFTER_MS);

    // Nobody is there: two more failed tries (skipping the waits), each scheduled a step further.
    const failedTry = async (attempt: number) => {
      client!.signaling.retryNow();
      const lost = await untilSeen(
        seen,
        (s) => s.state === 'reconnecting' && s.attempt === attempt && s.nextRetryAt !== undefined,
        `try ${attempt} failed`,
      );
      expect(lost.lastError?.code).toBe('CONNECT_FAILED');
      return lost.nextRetryAt! - lost.seenAt;
    };
    const second = await failedTry(2);
    const third = await failedTry(3);
    // Back-off steps 2 s and 4 s (read a moment after the client set them, so at most that much less).
    expect(second).toBeLessThanOrEqual(2000);
    expect(second).toBeGreaterThan(1000);
    expect(third).toBeLessThanOrEqual(4000);
    expect(third).toBeGreaterThan(2000);

    await stack.restart('signaling', 0);
    const back = client.signaling.next('reconnected');
    client.signaling.retryNow();
    await back;
    expect(client.connection).toEqual({ state: 'connected', attempt: 0 });

    // The next outage starts over at try 1 and the first step, not where the last one left off.
    const next = seen.length;
    client.signaling.dropTransport();
    const dropped = await untilSeen(
      seen,
      (s) => seen.indexOf(s) >= next && s.state === 'reconnecting',
      'dropped',
    );
    expect(dropped.attempt).toBe(1);
    expect(dropped.nextRetryAt! - dropped.seenAt).toBeLessThanOrEqual(1000);
    expect(dropped.nextRetryAt! - dropped.seenAt).toBeGreaterThan(0);
    await client.signaling.next('reconnected');
    expect(client.connection.state).toBe('connected');
  });
});
