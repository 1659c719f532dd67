import { randomUUID } from 'node:crypto';
import { redisUrl } from '@voip/testkit/env';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineScript, str } from '../src/redis-script.js';

let redis: Redis;
beforeAll(() => {
  redis = new Redis(redisUrl());
});
afterAll(() => redis.quit());

// Sets a hash field only when the hash exists, and says what was there before.
const SET_IF_EXISTS = defineScript({
  name: 'setIfExists',
  keys: ['record'],
  args: ['field', 'value'],
  lua: `
if redis.call('EXISTS', K.record) == 0 then return {0, false} end
local old = redis.call('HGET', K.record, A.field)
redis.call('HSET', K.record, A.field, A.value)
return {1, old}`,
  decode: (r) => {
    const [set, old] = r as [number, string | null];
    return { set: set === 1, old: str(old) };
  },
});

// A trailing list takes the rest of KEYS / ARGV.
const SUM_LENGTHS = defineScript({
  name: 'sumLengths',
  keys: ['first', 'rest[]'],
  args: ['factor', 'extra[]'],
  lua: `
local n = redis.call('STRLEN', K.first)
for _, k in ipairs(K.rest) do n = n + redis.call('STRLEN', k) end
for _, e in ipairs(A.extra) do n = n + tonumber(e) end
return n * tonumber(A.factor)`,
  decode: (r) => Number(r),
});

describe('defineScript', () => {
  it('passes keys and arguments by name and decodes the reply once', async () => {
    const record = `test:script:${randomUUID()}`;
    expect(await SET_IF_EXISTS.run(redis, { record, field: 'state', value: 'a' })).toEqual({
      set: false,
      old: '',
    });
    expect(await redis.exists(record)).toBe(0);
    await redis.hset(record, 'state', 'ringing');
    expect(await SET_IF_EXISTS.run(redis, { record, field: 'state', value: 'accepted' })).toEqual({
      set: true,
      old: 'ringing',
    });
    expect(await redis.hget(record, 'state')).toBe('accepted');
  });

  it('collects a trailing list name from the rest of KEYS and ARGV', async () => {
    const [a, b, c] = [1, 2, 3].map((i) => `test:script:${randomUUID()}:${i}`) as [string, string, string];
    await redis.mset(a, 'xx', b, 'yyy', c, 'z');
    expect(await SUM_LENGTHS.run(redis, { first: a, rest: [b, c], factor: 2, extra: [10, 1] })).toBe(34);
    expect(await SUM_LENGTHS.run(redis, { first: a, rest: [], factor: 1, extra: [] })).toBe(2);
  });

  it('loads the script again after SCRIPT FLUSH (NOSCRIPT falls back to EVAL), then runs it by SHA', async () => {
    const record = `test:script:${randomUUID()}`;
    await redis.hset(record, 'state', 'x');
    await redis.script('FLUSH');
    expect(await redis.script('EXISTS', SET_IF_EXISTS.sha)).toEqual([0]);
    expect((await SET_IF_EXISTS.run(redis, { record, field: 'state', value: 'y' })).old).toBe('x');
    expect(await redis.script('EXISTS', SET_IF_EXISTS.sha)).toEqual([1]);
    expect((await SET_IF_EXISTS.run(redis, { record, field: 'state', value: 'z' })).old).toBe('y');
  });

  it('surfaces a script error that is not NOSCRIPT, naming the Lua failure', async () => {
    const broken = defineScript({
      name: 'broken',
      keys: [],
      args: [],
      lua: "return redis.call('NOSUCHCOMMAND')",
      decode: (r) => r,
    });
    await expect(broken.run(redis, {})).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });

  it('refuses names Lua cannot read, a list before the end, and a name used twice', () => {
    const base = { name: 'x', lua: 'return 0', decode: (r: unknown) => r };
    expect(() => defineScript({ ...base, keys: ['end'], args: [] })).toThrow(/not a Lua name/);
    expect(() => defineScript({ ...base, keys: ['a-b'], args: [] })).toThrow(/not a Lua name/);
    expect(() => defineScript({ ...base, keys: ['a[]', 'b'], args: [] })).toThrow(/only the last/);
    expect(() => defineScript({ ...base, keys: ['a'], args: ['a'] })).toThrow(/both a key and an argument/);
  });
});
