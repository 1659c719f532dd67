import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { BusEventData } from '@voip/contracts/bus-events';
import { redisUrl } from '@voip/testkit/env';
import { uniqueName } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEnvelope } from '../src/envelope.js';
import {
  type ConsumerOutcome,
  createStreamConsumer,
  createStreamProducer,
  DependencyUnavailableError,
  ENTRY_FIELD,
  REPLAY_FOR_FIELD,
  type StreamConsumer,
  type StreamConsumerOptions,
  streamBacklog,
  unavailableDependency,
} from '../src/streams.js';
import { gate, waitFor } from './wait.js';

// Counters move when a consumer reads Redis's reply to its XACK, a moment after the ack is visible to
// the test's own connection: checks of stats therefore wait (vi.waitFor) rather than read once.
const eventually = (check: () => void) => vi.waitFor(check, { timeout: 5000, interval: 20 });
let redis: Redis;
const running: StreamConsumer[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(running.splice(0).map((c) => c.stop({ timeoutMs: 200 })));
});
afterAll(async () => {
  await redis.quit();
});

/** A fresh stream, group and dead-letter stream per test, so tests never see each other's entries. */
function names() {
  const id = uniqueName('s');
  return {
    stream: `voip:test:stream:${id}`,
    group: 'test-group',
    deadLetterStream: `voip:test:dead-letter:${id}`,
  };
}

const registered = (n = 0): BusEventData<'user.registered'> => ({
  userId: ulid(),
  username: `user${n}`,
  displayName: `User ${n}`,
  createdAt: new Date().toISOString(),
});

function consumer(opts: Omit<StreamConsumerOptions, 'redis'> & { redis?: Redis }): StreamConsumer {
  const c = createStreamConsumer({ redis, blockMs: 100, ...opts });
  running.push(c);
  c.start();
  return c;
}

async function pendingOf(
  stream: string,
  group: string,
): Promise<Array<{ id: string; consumer: string; deliveries: number }>> {
  const rows = (await redis.xpending(stream, group, '-', '+', 100)) as Array<
    [string, string, number, number]
  >;
  return rows.map(([id, c, , deliveries]) => ({ id, consumer: c, deliveries }));
}

async function deadLetters(stream: string): Promise<Array<Record<string, string>>> {
  const rows = await redis.xrange(stream, '-', '+');
  return rows.map(([, fields]) => {
    const o: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) o[fields[i]!] = fields[i + 1]!;
    return o;
  });
}

/** Drops one connection by its client name (the consumer's own, not every test's). */
async function killClient(name: string) {
  const clients = String(await redis.client('LIST'))
    .split('\n')
    .map((line) => Object.fromEntries(line.split(' ').map((kv) => kv.split('=', 2) as [string, string])));
  const ids = clients.filter((c) => c.name === name).map((c) => c.id as string);
  expect(ids).toHaveLength(1);
  await redis.client('KILL', 'ID', ids[0]!);
}

describe('stream producer', () => {
  it('appends a validated envelope and refuses invalid data', async () => {
    const { stream } = names();
    const producer = createStreamProducer(redis, 'auth-1');
    const { entryId, envelope } = await producer.append(stream, 'user.registered', registered());
    const [[id, fields]] = (await redis.xrange(stream, '-', '+')) as [[string, string[]]];
    expect(id).toBe(entryId);
    expect(fields[0]).toBe(ENTRY_FIELD);
    expect(JSON.parse(fields[1]!)).toEqual(envelope);
    await expect(
      producer.append(stream, 'user.registered', {
        userId: 'x',
      } as unknown as BusEventData<'user.registered'>),
    ).rejects.toThrow(/invalid user.registered data/);
    expect(await redis.xlen(stream)).toBe(1);
  });
});

describe('stream consumer', () => {
  it('acks an entry only after its handler resolves', async () => {
    const { stream, group } = names();
    const held = gate();
    const seen: string[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      handlers: {
        'user.registered': async (env) => {
          seen.push(env.data.username);
          await held.opened;
        },
      },
    });
    const { entryId } = await createStreamProducer(redis, 'auth-1').append(
      stream,
      'user.registered',
      registered(1),
    );
    await waitFor(() => seen.length === 1, { what: 'delivery' });
    expect(await pendingOf(stream, group)).toEqual([{ id: entryId, consumer: 'c1', deliveries: 1 }]);
    expect(c.stats.processed).toBe(0);
    held.open();
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'ack' });
    await eventually(() => expect(c.stats.processed).toBe(1));
  });

  it('delivers every entry appended before any consumer or group existed, in order', async () => {
    const { stream, group } = names();
    const producer = createStreamProducer(redis, 'auth-1');
    const appended: string[] = [];
    for (let i = 0; i < 5; i++)
      appended.push((await producer.append(stream, 'user.registered', registered(i))).envelope.id);
    const seen: string[] = [];
    consumer({
      stream,
      group,
      consumer: 'late',
      handlers: { 'user.registered': (env) => void seen.push(env.id) },
    });
    await waitFor(() => seen.length === 5, { what: 'five deliveries' });
    expect(seen).toEqual(appended);
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'acks' });
  });

  it('accepts group and consumer names Redis would refuse as a connection name, and names it anyway', async () => {
    const { stream } = names();
    const seen: string[] = [];
    consumer({
      stream,
      group: 'call history',
      consumer: 'call 1 (blue)',
      handlers: { 'user.registered': (e) => void seen.push(e.id) },
    });
    const { envelope } = await createStreamProducer(redis, 'auth-1').append(
      stream,
      'user.registered',
      registered(),
    );
    await waitFor(() => seen.length === 1, { what: 'delivery' });
    expect(seen).toEqual([envelope.id]);
    expect(String(await redis.client('LIST'))).toContain('name=bus:call_history:call_1__blue_ ');
  });

  it('tolerates a group that already exists (BUSYGROUP) and shares entries between its consumers', async () => {
    const { stream, group } = names();
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    const deliveries: Array<{ id: string; name: string }> = [];
    // One entry per read, and each consumer holds its first entry until the other has one too: whichever
    // reads first cannot take the rest, so the test does not depend on who wins the first read.
    const both = gate();
    const handlers = (name: string) => ({
      'user.registered': async (env: { id: string }) => {
        deliveries.push({ id: env.id, name });
        if (new Set(deliveries.map((d) => d.name)).size === 2) both.open();
        await both.opened;
      },
    });
    consumer({ stream, group, consumer: 'a', batch: 1, handlers: handlers('a') });
    consumer({ stream, group, consumer: 'b', batch: 1, handlers: handlers('b') });
    const producer = createStreamProducer(redis, 'auth-1');
    for (let i = 0; i < 10; i++) await producer.append(stream, 'user.registered', registered(i));
    await waitFor(() => deliveries.length >= 10, { what: 'ten deliveries, to both consumers' });
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'acks' });
    // Shared, not copied: each entry went to one consumer, and both consumers got some.
    expect(deliveries).toHaveLength(10);
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(10);
    expect(new Set(deliveries.map((d) => d.name))).toEqual(new Set(['a', 'b']));
  });

  it("re-delivers a killed consumer's pending entries to another consumer of the group", async () => {
    const fixture = fileURLToPath(new URL('./fixtures/doomed-consumer.mjs', import.meta.url));
    const built = fileURLToPath(new URL('../dist/streams.js', import.meta.url));
    if (!existsSync(built))
      throw new Error('packages/bus is not built: run `turbo run build --filter=@voip/bus`');
    const { stream, group } = names();
    const producer = createStreamProducer(redis, 'auth-1');
    const appended: string[] = [];
    for (let i = 0; i < 3; i++)
      appended.push((await producer.append(stream, 'user.registered', registered(i))).entryId);

    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, REDIS_URL: redisUrl(), STREAM: stream, GROUP: group },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes(`handling ${appended[0]}`), {
      what: 'the doomed consumer to start handling',
    });
    // It read all three and acked none: they are pending on it when it dies.
    expect(await pendingOf(stream, group)).toEqual(
      appended.map((id) => ({ id, consumer: 'doomed', deliveries: 1 })),
    );
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const seen: Array<{ entryId: string; deliveries: number }> = [];
    const survivor = consumer({
      stream,
      group,
      consumer: 'survivor',
      claimIdleMs: 300,
      handlers: {
        'user.registered': (_env, meta) =>
          void seen.push({ entryId: meta.entryId, deliveries: meta.deliveries }),
      },
    });
    await waitFor(() => seen.length === 3, { what: 're-delivery to the survivor' });
    expect(seen).toEqual(appended.map((entryId) => ({ entryId, deliveries: 2 })));
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, {
      what: 'acks by the survivor',
    });
    await vi.waitFor(() =>
      expect(survivor.stats).toMatchObject({ processed: 3, claimed: 3, deadLettered: 0 }),
    );
  });

  it('dead-letters malformed entries at once, with the reason and the raw payload, and carries on', async () => {
    const { stream, group, deadLetterStream } = names();
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    const badData = {
      ...createEnvelope('user.registered', registered(), 'auth-1'),
      data: { userId: { $ne: null } },
    };
    const bad = [
      { payload: [ENTRY_FIELD, '{not json'], reason: 'invalid-json' },
      {
        payload: [ENTRY_FIELD, JSON.stringify({ v: 2, type: 'user.registered' })],
        reason: 'invalid-envelope',
      },
      { payload: [ENTRY_FIELD, JSON.stringify(badData)], reason: 'invalid-data' },
      { payload: ['something', 'else'], reason: 'missing-envelope-field' },
    ];
    const ids: string[] = [];
    for (const b of bad) ids.push((await redis.xadd(stream, '*', ...b.payload))!);
    const good = await createStreamProducer(redis, 'auth-1').append(stream, 'user.registered', registered(7));

    const seen: string[] = [];
    const outcomes: ConsumerOutcome[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      handlers: { 'user.registered': (env) => void seen.push(env.id) },
      onOutcome: (o) => outcomes.push(o),
    });
    await waitFor(() => seen.length === 1, { what: 'the valid entry' });
    expect(seen).toEqual([good.envelope.id]);
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'every entry acked' });

    const letters = await deadLetters(deadLetterStream);
    expect(letters.map((l) => l.reason)).toEqual(bad.map((b) => b.reason));
    for (const [i, l] of letters.entries()) {
      expect(l).toMatchObject({ stream, group, consumer: 'c1', entryId: ids[i], deliveries: '1' });
      expect(l.detail).toBeTruthy();
    }
    expect(letters[0]!.raw).toBe('{not json');
    expect(JSON.parse(letters[2]!.raw!)).toEqual(badData);
    expect(letters[2]!.type).toBe('user.registered');
    expect(JSON.parse(letters[3]!.raw!)).toEqual(['something', 'else']);
    await eventually(() => expect(c.stats).toMatchObject({ processed: 1, deadLettered: 4, failed: 0 }));
    expect(outcomes.filter((o) => o === 'dead-lettered')).toHaveLength(4);
  });

  it('acks and skips unknown event types and types it has no handler for, without dead-lettering', async () => {
    const { stream, group, deadLetterStream } = names();
    const future = {
      ...createEnvelope('user.registered', registered(), 'auth-9'),
      type: 'user.teleported',
      data: {},
    };
    await redis.xadd(stream, '*', ENTRY_FIELD, JSON.stringify(future));
    await createStreamProducer(redis, 'auth-1').append(stream, 'guest.deleted', { guestIds: [ulid()] });
    const last = await createStreamProducer(redis, 'auth-1').append(stream, 'user.registered', registered());
    const seen: string[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      handlers: { 'user.registered': (e) => void seen.push(e.id) },
    });
    await waitFor(() => seen.length === 1, { what: 'the known entry' });
    expect(seen).toEqual([last.envelope.id]);
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'acks' });
    await eventually(() => expect(c.stats).toMatchObject({ processed: 1, skipped: 2, deadLettered: 0 }));
    expect(await redis.exists(deadLetterStream)).toBe(0);
  });

  it('retries a failing handler through the claim loop and dead-letters it after maxDeliveries', async () => {
    const { stream, group, deadLetterStream } = names();
    const deliveries: number[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      claimIdleMs: 100,
      maxDeliveries: 3,
      handlers: {
        'user.registered': (_env, meta) => {
          deliveries.push(meta.deliveries);
          throw new Error('database is on fire');
        },
      },
    });
    const { entryId, envelope } = await createStreamProducer(redis, 'auth-1').append(
      stream,
      'user.registered',
      registered(),
    );
    const [letter] = await waitFor(
      async () => {
        const letters = await deadLetters(deadLetterStream);
        return letters.length > 0 ? letters : null;
      },
      { what: 'the dead letter' },
    );
    expect(letter).toMatchObject({
      reason: 'max-deliveries',
      entryId,
      deliveries: '4',
      type: 'user.registered',
      stream,
      group,
    });
    expect(JSON.parse(letter!.raw!)).toEqual(envelope);
    expect(deliveries).toEqual([1, 2, 3]);
    expect(await pendingOf(stream, group)).toEqual([]);
    await eventually(() => expect(c.stats).toMatchObject({ failed: 3, deadLettered: 1, processed: 0 }));
  });

  it('handles an entry on a later delivery when the handler failed once', async () => {
    const { stream, group, deadLetterStream } = names();
    let calls = 0;
    const done: number[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      claimIdleMs: 100,
      handlers: {
        'user.registered': (_env, meta) => {
          if (++calls === 1) throw new Error('transient');
          done.push(meta.deliveries);
        },
      },
    });
    await createStreamProducer(redis, 'auth-1').append(stream, 'user.registered', registered());
    await waitFor(() => done.length === 1, { what: 'the retry' });
    expect(done).toEqual([2]);
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'ack' });
    await eventually(() => expect(c.stats).toMatchObject({ failed: 1, processed: 1, deadLettered: 0 }));
    expect(await redis.exists(deadLetterStream)).toBe(0);
  });

  it('stop() finishes the in-flight entry before closing', async () => {
    const { stream, group } = names();
    const held = gate();
    let started = false;
    let finished = false;
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      handlers: {
        'user.registered': async () => {
          started = true;
          await held.opened;
          finished = true;
        },
      },
    });
    await createStreamProducer(redis, 'auth-1').append(stream, 'user.registered', registered());
    await waitFor(() => started, { what: 'the handler to start' });
    let stopped = false;
    const stopping = c.stop({ timeoutMs: 60_000 }).then(() => {
      stopped = true;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(stopped).toBe(false);
    held.open();
    await stopping;
    expect(finished).toBe(true);
    expect(await pendingOf(stream, group)).toEqual([]);
    expect(c.stats).toMatchObject({ processed: 1, running: false });
  });

  it('stop() gives up on a hung handler after its timeout, leaving the entry for another consumer', async () => {
    const { stream, group } = names();
    let started = false;
    const hung = consumer({
      stream,
      group,
      consumer: 'hung',
      handlers: {
        'user.registered': () => {
          started = true;
          return new Promise(() => {});
        },
      },
    });
    const { entryId } = await createStreamProducer(redis, 'auth-1').append(
      stream,
      'user.registered',
      registered(),
    );
    await waitFor(() => started, { what: 'the hung handler' });
    await hung.stop({ timeoutMs: 50 });
    expect(await pendingOf(stream, group)).toEqual([{ id: entryId, consumer: 'hung', deliveries: 1 }]);
    const seen: string[] = [];
    consumer({
      stream,
      group,
      consumer: 'other',
      claimIdleMs: 100,
      handlers: { 'user.registered': (_e, m) => void seen.push(m.entryId) },
    });
    await waitFor(() => seen.length === 1, { what: 're-delivery' });
    expect(seen).toEqual([entryId]);
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'ack' });
  });

  it('stop() while blocked in XREADGROUP does not wait for the block to end, and closes its connection', async () => {
    const { stream, group } = names();
    const c = consumer({ stream, group, consumer: 'idle-one', blockMs: 60_000, handlers: {} });
    await waitFor(async () => String(await redis.client('LIST')).includes(`name=bus:${group}:idle-one`), {
      what: 'the consumer connection',
    });
    await c.stop({ timeoutMs: 60_000 });
    await waitFor(async () => !String(await redis.client('LIST')).includes(`name=bus:${group}:idle-one`), {
      what: 'the connection to close',
    });
    expect(c.stats.running).toBe(false);
  });

  it('recovers when its connection is killed and when the stream and group are deleted under it', async () => {
    const { stream, group } = names();
    const seen: string[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'sturdy',
      handlers: { 'user.registered': (e) => void seen.push(e.id) },
    });
    const producer = createStreamProducer(redis, 'auth-1');
    const first = await producer.append(stream, 'user.registered', registered(1));
    await waitFor(() => seen.length === 1, { what: 'the first entry' });

    await killClient(`bus:${group}:sturdy`);
    const second = await producer.append(stream, 'user.registered', registered(2));
    await waitFor(() => seen.length === 2, { what: 'an entry after the connection was killed' });

    await redis.del(stream);
    await waitFor(() => c.stats.errors > 0, { what: 'the consumer to notice the missing group' });
    const third = await producer.append(stream, 'user.registered', registered(3));
    await waitFor(() => seen.length === 3, { what: 'an entry after the group was recreated' });
    expect(seen).toEqual([first.envelope.id, second.envelope.id, third.envelope.id]);
    expect(c.stats.running).toBe(true);
  });

  it('removes consumers that hold nothing and have been idle for long, keeping those with pending entries', async () => {
    const { stream, group } = names();
    await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
    await redis.xgroup('CREATECONSUMER', stream, group, 'ghost');
    await createStreamProducer(redis, 'auth-1').append(stream, 'user.registered', registered());
    await redis.xreadgroup('GROUP', group, 'holder', 'COUNT', 1, 'STREAMS', stream, '>');
    await new Promise((r) => setTimeout(r, 60));
    consumer({
      stream,
      group,
      consumer: 'janitor',
      pruneIdleConsumersMs: 50,
      claimIdleMs: 60_000,
      handlers: {},
    });
    const consumerNames = async () =>
      ((await redis.xinfo('CONSUMERS', stream, group)) as unknown[][]).map((row) => String(row[1])).sort();
    // The ghost goes; the holder of a pending entry stays (the janitor itself joins only once it reads something).
    await waitFor(async () => !(await consumerNames()).includes('ghost'), { what: 'the ghost to be pruned' });
    expect(await consumerNames()).toContain('holder');
    expect(await pendingOf(stream, group)).toEqual([expect.objectContaining({ consumer: 'holder' })]);
  });
});

/** An error shaped like the MongoDB driver's when no server answers (mongoose rethrows it as is). */
function serverSelectionError() {
  const err = new Error('Server selection timed out after 3000 ms');
  err.name = 'MongoServerSelectionError';
  return err;
}

describe('stream consumer while a dependency is unavailable', () => {
  it('tells an unavailable dependency from a failing entry by the error', () => {
    expect(unavailableDependency(serverSelectionError())).toBe('mongo');
    expect(unavailableDependency(new Error('Connection is closed.'))).toBe('redis');
    expect(
      unavailableDependency(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
      ),
    ).toBe('dependency');
    expect(unavailableDependency(new Error('wrapped', { cause: serverSelectionError() }))).toBe('mongo');
    expect(unavailableDependency(new DependencyUnavailableError('push'))).toBe('push');
    expect(unavailableDependency(new Error('E11000 duplicate key error'))).toBeNull();
    expect(
      unavailableDependency(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBeNull();
    expect(unavailableDependency('not an error')).toBeNull();
  });

  it('holds an entry whose handler fails on an unavailable dependency, without spending deliveries, until it is back', async () => {
    const { stream, group, deadLetterStream } = names();
    let down = true;
    const attempts: Array<{ id: string; deliveries: number }> = [];
    const handled: string[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      claimIdleMs: 400,
      maxDeliveries: 2,
      outageRetryMs: 20,
      outageRetryMaxMs: 80,
      handlers: {
        'user.registered': (env, meta) => {
          attempts.push({ id: env.id, deliveries: meta.deliveries });
          if (down) throw serverSelectionError();
          handled.push(env.id);
        },
      },
    });
    // A second consumer of the group, as another instance would be: it sees the same dependency (whichever
    // of the two reads the batch holds it), and it must not take entries the other holds: a steal would
    // count a delivery, which the pending list below would show.
    const other = consumer({
      stream,
      group,
      consumer: 'c2',
      deadLetterStream,
      claimIdleMs: 400,
      maxDeliveries: 2,
      outageRetryMs: 20,
      outageRetryMaxMs: 80,
      handlers: {
        'user.registered': (env, meta) => {
          attempts.push({ id: env.id, deliveries: meta.deliveries });
          if (down) throw serverSelectionError();
          handled.push(env.id);
        },
      },
    });
    const producer = createStreamProducer(redis, 'auth-1');
    // Both in one batch for c1 (c2 could win the read: wait until c1 holds them).
    const first = await producer.append(stream, 'user.registered', registered(1));
    const second = await producer.append(stream, 'user.registered', registered(2));
    await waitFor(() => c.status.state === 'paused' || other.status.state === 'paused', { what: 'a pause' });
    const holder = c.status.state === 'paused' ? c : other;
    expect(holder.status.reason).toBe('paused: mongo unavailable');
    // Down for many claim-idle periods and far more retries than maxDeliveries.
    await waitFor(() => attempts.length >= 8, { what: 'retries during the outage' });
    await new Promise((r) => setTimeout(r, 500));
    expect(await deadLetters(deadLetterStream)).toEqual([]);
    for (const p of await pendingOf(stream, group)) expect(p.deliveries).toBe(1);
    down = false;
    await waitFor(() => handled.length === 2, { what: 'both entries after the outage' });
    expect(handled).toEqual([first.envelope.id, second.envelope.id]);
    expect(attempts.every((a) => a.deliveries === 1)).toBe(true);
    await waitFor(async () => (await pendingOf(stream, group)).length === 0, { what: 'acks' });
    expect(holder.status.state).toBe('running');
    expect(await redis.exists(deadLetterStream)).toBe(0);
    await eventually(() => expect(c.stats.deadLettered + other.stats.deadLettered).toBe(0));
    expect(c.stats.deferred + other.stats.deferred).toBeGreaterThanOrEqual(8);
  });

  it('with a health probe, reads nothing while the dependency is down, and any failure then is an outage', async () => {
    const { stream, group, deadLetterStream } = names();
    let up = false;
    let failNext = true;
    const handled: number[] = [];
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      claimIdleMs: 100,
      maxDeliveries: 1,
      outageRetryMs: 20,
      outageRetryMaxMs: 50,
      dependency: 'db',
      isDependencyAvailable: () => up,
      handlers: {
        'user.registered': (_env, meta) => {
          if (failNext) {
            // The dependency drops while this entry is handled: a plain error, but the probe says why.
            failNext = false;
            up = false;
            throw new Error('write failed');
          }
          handled.push(meta.deliveries);
        },
      },
    });
    await producer().append(stream, 'user.registered', registered());
    await waitFor(() => c.status.state === 'paused', { what: 'the pause' });
    expect(c.status.reason).toBe('paused: db unavailable');
    await new Promise((r) => setTimeout(r, 300));
    expect(failNext).toBe(true);
    expect((await streamBacklog(redis, stream, group)).pending).toBe(0);
    up = true;
    await waitFor(() => !failNext, { what: 'the failing try' });
    await new Promise((r) => setTimeout(r, 300));
    expect(c.status).toMatchObject({ state: 'paused', reason: 'paused: db unavailable' });
    expect(handled).toEqual([]);
    up = true;
    await waitFor(() => handled.length === 1, { what: 'the entry after the probe recovered' });
    expect(handled).toEqual([1]);
    expect(c.status.state).toBe('running');
    expect(await redis.exists(deadLetterStream)).toBe(0);
  });

  it('resumes when the probe recovers even if no entry arrives meanwhile', async () => {
    const { stream, group, deadLetterStream } = names();
    let up = false;
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      outageRetryMs: 20,
      outageRetryMaxMs: 50,
      dependency: 'db',
      isDependencyAvailable: () => up,
      handlers: {},
    });
    await waitFor(() => c.status.state === 'paused', { what: 'the pause' });
    up = true;
    await waitFor(() => c.status.state === 'running', { what: 'the resume' });
    expect(c.stats.paused).toBe(false);
  });

  it('still dead-letters an entry that fails while the dependency is healthy', async () => {
    const { stream, group, deadLetterStream } = names();
    const c = consumer({
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      claimIdleMs: 100,
      maxDeliveries: 2,
      isDependencyAvailable: () => true,
      handlers: {
        'user.registered': () => {
          throw new TypeError('bad data the schema let through');
        },
      },
    });
    const { entryId } = await producer().append(stream, 'user.registered', registered());
    const [letter] = await waitFor(async () => {
      const letters = await deadLetters(deadLetterStream);
      return letters.length > 0 ? letters : null;
    });
    expect(letter).toMatchObject({ reason: 'max-deliveries', entryId });
    expect(c.status.state).toBe('running');
  });

  it('handles a replayed entry only in the group it is replayed for', async () => {
    const { stream, deadLetterStream } = names();
    const seen: Record<string, string[]> = { a: [], b: [] };
    for (const group of ['a', 'b'])
      consumer({
        stream,
        group,
        consumer: 'c1',
        deadLetterStream,
        handlers: { 'user.registered': (env) => void seen[group]!.push(env.id) },
      });
    const env = createEnvelope('user.registered', registered(), 'auth-1');
    await redis.xadd(stream, '*', ENTRY_FIELD, JSON.stringify(env), REPLAY_FOR_FIELD, 'b');
    await waitFor(() => seen.b!.length === 1, { what: 'group b' });
    await waitFor(
      async () =>
        (await pendingOf(stream, 'a')).length === 0 && (await streamBacklog(redis, stream, 'a')).lag === 0,
    );
    expect(seen).toEqual({ a: [], b: [env.id] });
  });
});

const producer = () => createStreamProducer(redis, 'auth-1');

describe('streamBacklog', () => {
  it('reports pending and lag of a group, and a missing stream or group as not existing', async () => {
    const { stream, group } = names();
    expect(await streamBacklog(redis, stream, group)).toMatchObject({ exists: false, pending: 0 });
    const producer = createStreamProducer(redis, 'auth-1');
    for (let i = 0; i < 3; i++) await producer.append(stream, 'user.registered', registered(i));
    await redis.xgroup('CREATE', stream, group, '0');
    expect(await streamBacklog(redis, stream, 'another-group')).toMatchObject({ exists: false });
    expect(await streamBacklog(redis, stream, group)).toEqual({
      exists: true,
      pending: 0,
      lag: 3,
      consumers: 0,
      lastDeliveredId: '0-0',
    });
    await redis.xreadgroup('GROUP', group, 'reader', 'COUNT', 2, 'STREAMS', stream, '>');
    expect(await streamBacklog(redis, stream, group)).toMatchObject({
      exists: true,
      pending: 2,
      lag: 1,
      consumers: 1,
    });
  });
});
