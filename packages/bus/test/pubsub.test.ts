import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusEventData } from '@voip/contracts/bus-events';
import { channels } from '@voip/contracts/redis-keys';
import { redisUrl } from '@voip/testkit/env';
import { freePort, waitForPort } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BusEnvelope } from '../src/envelope.js';
import { createPublisher, createSubscriber, type Subscriber } from '../src/pubsub.js';
import { waitFor } from './wait.js';

let redis: Redis;
const subscribers: Subscriber[] = [];
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(subscribers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await redis.quit();
});

/** Collects what a logger was told, to check that bad messages are reported (not thrown). */
function recordingLogger() {
  const lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }> = [];
  const at = (level: string) => (obj: Record<string, unknown>, msg: string) =>
    void lines.push({ level, obj, msg });
  return { lines, logger: { warn: at('warn'), error: at('error') } as never };
}

const updated = (displayName: string): BusEventData<'user.updated'> => ({ userId: ulid(), displayName });

function subscriber(source: string, opts: { includeOwn?: boolean; logger?: never } = {}) {
  const s = createSubscriber(redis, { source, ...opts });
  subscribers.push(s);
  return s;
}

describe('pub/sub bus', () => {
  it('delivers a published event to subscribers of its type, as a validated envelope', async () => {
    const received: BusEnvelope<'user.updated'>[] = [];
    const other: unknown[] = [];
    const s = subscriber('user-1');
    await s.on('user.updated', (e) => void received.push(e));
    await s.on('presence.changed', (e) => void other.push(e));
    const sent = await createPublisher(redis, 'auth-1').publish('user.updated', updated('Alice'));
    await waitFor(() => received.length === 1, { what: 'the event' });
    expect(received[0]).toEqual(sent);
    expect(sent).toMatchObject({ v: 1, type: 'user.updated', source: 'auth-1' });
    expect(other).toEqual([]);
  });

  it('refuses to publish invalid data, and nothing reaches the channel', async () => {
    const raw: string[] = [];
    const listener = redis.duplicate();
    await listener.subscribe(channels.bus('user.updated'));
    listener.on('message', (_ch: string, m: string) => void raw.push(m));
    const publisher = createPublisher(redis, 'auth-1');
    await expect(
      publisher.publish('user.updated', { userId: '' } as BusEventData<'user.updated'>),
    ).rejects.toThrow(/invalid user.updated data/);
    await expect(
      publisher.publish('user.updated', { userId: { $ne: null } } as unknown as BusEventData<'user.updated'>),
    ).rejects.toThrow(/invalid user.updated data/);
    // A valid message afterwards is the first (and only) thing on the channel.
    const ok = await publisher.publish('user.updated', updated('Bob'));
    await waitFor(() => raw.length === 1, { what: 'the valid message' });
    expect(JSON.parse(raw[0]!)).toEqual(ok);
    await listener.quit();
  });

  it('drops malformed messages on the channel with a warning and keeps delivering', async () => {
    const { lines, logger } = recordingLogger();
    const received: string[] = [];
    const s = subscriber('user-1', { logger });
    await s.on('user.updated', (e) => void received.push(e.data.displayName ?? ''));
    const ch = channels.bus('user.updated');
    await redis.publish(ch, '{not json');
    await redis.publish(ch, JSON.stringify({ v: 1, type: 'user.updated' }));
    await redis.publish(
      ch,
      JSON.stringify({
        v: 1,
        type: 'user.updated',
        id: 'x',
        source: 'evil',
        at: new Date().toISOString(),
        data: { userId: { $ne: null } },
      }),
    );
    await createPublisher(redis, 'auth-1').publish('user.updated', updated('Carol'));
    await waitFor(() => received.length === 1, { what: 'the valid message' });
    expect(received).toEqual(['Carol']);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.obj.reason)).toEqual([
      'invalid-json',
      'invalid-envelope',
      'invalid-data',
    ]);
  });

  it('keeps delivering after a handler throws or rejects', async () => {
    const { lines, logger } = recordingLogger();
    const received: string[] = [];
    const s = subscriber('user-1', { logger });
    await s.on('user.updated', (e) => {
      if (e.data.displayName === 'boom') throw new Error('sync boom');
    });
    await s.on('user.updated', async (e) => {
      if (e.data.displayName === 'boom') throw new Error('async boom');
      received.push(e.data.displayName ?? '');
    });
    const publisher = createPublisher(redis, 'auth-1');
    await publisher.publish('user.updated', updated('boom'));
    await publisher.publish('user.updated', updated('Dave'));
    await waitFor(() => received.length === 1, { what: 'the second message' });
    expect(received).toEqual(['Dave']);
    await waitFor(() => lines.filter((l) => l.level === 'error').length === 2, {
      what: 'both failures logged',
    });
  });

  it('skips its own messages unless includeOwn', async () => {
    const mine: string[] = [];
    const withOwn: string[] = [];
    await subscriber('user-1').on('user.updated', (e) => void mine.push(e.data.displayName ?? ''));
    await subscriber('user-1', { includeOwn: true }).on(
      'user.updated',
      (e) => void withOwn.push(e.data.displayName ?? ''),
    );
    await createPublisher(redis, 'user-1').publish('user.updated', updated('own'));
    await createPublisher(redis, 'user-2').publish('user.updated', updated('theirs'));
    await waitFor(() => mine.length === 1 && withOwn.length === 2, { what: 'deliveries' });
    expect(mine).toEqual(['theirs']);
    expect(withOwn).toEqual(['own', 'theirs']);
  });

  it('stops delivering after close', async () => {
    const received: string[] = [];
    const s = createSubscriber(redis, { source: 'user-1' });
    await s.on('user.updated', (e) => void received.push(e.data.displayName ?? ''));
    await s.close();
    expect(await redis.publish(channels.bus('user.updated'), JSON.stringify({}))).toBe(0);
    expect(received).toEqual([]);
  });

  it('subscribes once Redis comes up when it was unreachable at first, without throwing', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => 50, maxRetriesPerRequest: 1 });
    const { lines, logger } = recordingLogger();
    const s = createSubscriber(client, { source: 'user-1', logger });
    const received: string[] = [];
    await s.on('user.updated', (e) => void received.push(e.data.displayName ?? ''));
    expect(lines.some((l) => /subscribe failed/.test(l.msg))).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'bus-redis-'));
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir],
      {
        stdio: 'ignore',
      },
    );
    try {
      await waitForPort(port);
      const publisher = new Redis(url);
      const p = createPublisher(publisher, 'auth-1');
      await waitFor(
        async () => {
          await p.publish('user.updated', updated('late'));
          return received.length > 0;
        },
        { what: 'delivery after Redis came up' },
      );
      expect(received[0]).toBe('late');
      await s.close();
      await publisher.quit();
    } finally {
      client.disconnect();
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
