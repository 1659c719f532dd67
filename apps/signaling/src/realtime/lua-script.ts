// A Lua script run by its SHA (EVALSHA), loaded on first use or after a Redis restart, so hot paths send
// a 40-byte hash instead of the script text.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type LuaScript = (
  redis: Redis,
  keys: readonly string[],
  args: readonly (string | number)[],
) => Promise<unknown>;

export function luaScript(source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (redis, keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
