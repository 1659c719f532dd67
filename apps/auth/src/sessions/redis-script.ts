// A Lua script run by EVALSHA, loaded with EVAL the first time a server has not seen it. Scripts are
// how session changes that read-then-write stay atomic (no transactions needed).
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export type ScriptRunner = (keys: string[], args: Array<string | number>) => Promise<unknown>;

export function redisScript(redis: Redis, source: string): ScriptRunner {
  const sha = createHash('sha1').update(source).digest('hex');
  return async (keys, args) => {
    try {
      return await redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(source, keys.length, ...keys, ...args);
    }
  };
}
