// Dead letters for an operator: what a consumer gave up on is listed, shown and replayed to the group that
// gave up on it (once, however often the replay runs), through the functions and through the built CLI.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { redisUrl } from '@voip/testkit/env';
import { uniqueName } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { getDeadLetter, listDeadLetters, replayDeadLetter } from '../src/dead-letters.js';
import {
  createStreamConsumer,
  createStreamProducer,
  ENTRY_FIELD,
  type StreamConsumer,
} from '../src/streams.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const cli = fileURLToPath(new URL('../dist/dead-letters-cli.js', import.meta.url));
let redis: Redis;
const running: StreamConsumer[] = [];

beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((c) => c.stop({ timeoutMs: 200 })));
});
afterAll(async () => {
  await redis.quit();
});

/**
 * A stream read by two groups: "history" fails every entry while `broken` says so (on a healthy
 * dependency, so it dead-letters after one retry), "sync" handles everything. Returns what each handled.
 */
function setup() {
  const id = uniqueName('dl');
  const stream = `voip:test:stream:${id}`;
  const deadLetterStream = `voip:test:dead-letter:${id}`;
  const state = { broken: true };
  const handled: Record<string, string[]> = { history: [], sync: [] };
  for (const group of ['history', 'sync']) {
    const c = createStreamConsumer({
      redis,
      stream,
      group,
      consumer: 'c1',
      deadLetterStream,
      blockMs: 100,
      claimIdleMs: 100,
      maxDeliveries: 1,
      handlers: {
        'user.registered': (env) => {
          if (group === 'history' && state.broken) throw new Error('bug in the handler');
          handled[group]!.push(env.id);
        },
      },
    });
    c.start();
    running.push(c);
  }
  const append = async () =>
    (
      await createStreamProducer(redis, 'auth-1').append(stream, 'user.registered', {
        userId: ulid(),
        username: 'u',
        displayName: 'U',
        createdAt: new Date().toISOString(),
      })
    ).envelope;
  const letters = (n: number) =>
    waitFor(
      async () => {
        const l = await listDeadLetters(redis, { deadLetterStream });
        return l.length === n ? l : null;
      },
      { what: `${n} dead letters` },
    );
  return { stream, deadLetterStream, state, handled, append, letters };
}

describe('dead letters', () => {
  it('lists and shows a dead letter, and replays it once, to the group that gave up on it only', async () => {
    const { stream, deadLetterStream, state, handled, append, letters } = setup();
    const env = await append();
    const [letter] = await letters(1);
    expect(letter).toMatchObject({
      stream,
      group: 'history',
      reason: 'max-deliveries',
      type: 'user.registered',
    });
    expect(JSON.parse(letter!.raw)).toEqual(env);
    expect(await getDeadLetter(redis, letter!.id, deadLetterStream)).toEqual(letter);
    expect(await listDeadLetters(redis, { deadLetterStream, group: 'sync' })).toEqual([]);
    expect(handled).toEqual({ history: [], sync: [env.id] });

    state.broken = false;
    const replayed = await replayDeadLetter(redis, letter!.id, deadLetterStream);
    expect(replayed).toMatchObject({ id: letter!.id, stream, group: 'history' });
    expect(await replayDeadLetter(redis, letter!.id, deadLetterStream)).toBeNull();
    await waitFor(() => handled.history!.length === 1, { what: 'the replay handled' });
    await new Promise((r) => setTimeout(r, 300));
    expect(handled).toEqual({ history: [env.id], sync: [env.id] });
    expect(await listDeadLetters(redis, { deadLetterStream })).toEqual([]);
    const [, fields] = (await redis.xrange(stream, replayed!.entryId, replayed!.entryId))[0]!;
    expect(JSON.parse(fields[fields.indexOf(ENTRY_FIELD) + 1]!)).toEqual(env);
  });

  it('pnpm dead-letters: list, show, replay --all, and a second replay finds nothing', async () => {
    if (!existsSync(cli))
      throw new Error('packages/bus is not built: run `turbo run build --filter=@voip/bus`');
    const { stream, deadLetterStream, state, handled, append, letters } = setup();
    const envs = [await append(), await append()];
    const dl = await letters(2);
    const env = { ...process.env, REDIS_URL: redisUrl() };
    const cmd = (...args: string[]) =>
      run(process.execPath, [cli, ...args, '--dead-letter-stream', deadLetterStream], { env });

    const list = await cmd('list', '--group', 'history');
    expect(list.stdout.trim().split('\n')).toHaveLength(2);
    expect(list.stdout).toContain(dl[0]!.id);
    expect(list.stdout).toContain('max-deliveries');
    const json = await cmd('list', '--json');
    expect(
      json.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).id),
    ).toEqual(dl.map((d) => d.id));
    const show = JSON.parse((await cmd('show', dl[1]!.id)).stdout);
    expect(show).toMatchObject({ id: dl[1]!.id, stream, group: 'history', envelope: envs[1] });

    state.broken = false;
    const replay = await cmd('replay', '--all', '--stream', stream);
    expect(replay.stdout).toContain(`replayed ${dl[0]!.id} -> ${stream}`);
    await waitFor(() => handled.history!.length === 2, { what: 'both replays handled' });
    expect(handled.history).toEqual(envs.map((e) => e.id));
    expect((await cmd('list')).stdout).toBe('');
    await expect(cmd('replay', dl[0]!.id)).rejects.toMatchObject({ code: 1 });
    await expect(cmd('frobnicate')).rejects.toMatchObject({ code: 2 });
    await new Promise((r) => setTimeout(r, 300));
    expect(handled).toEqual({ history: envs.map((e) => e.id), sync: envs.map((e) => e.id) });
  });
});
