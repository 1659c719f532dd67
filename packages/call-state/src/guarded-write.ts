// Compare-and-set for Redis: one Lua script applies a batch of writes only if every guard still holds.
// The call store decides in TypeScript (transitions.ts) on what it read, then applies with the read
// values as guards, so "read, decide, write" is atomic without WATCH (which would need a connection
// per operation) and the rules live in one readable place instead of in Lua.
import { defineScript } from '@voip/kit/redis-script';
import type { Redis } from 'ioredis';

/** `field` given: a hash field; otherwise a string key. `equals: null` means "does not exist". */
export interface Guard {
  key: string;
  field?: string;
  equals: string | null;
}

/** A Redis command as its words, or `['DELIFEQ', key, value]`: delete a string key only if it holds value. */
export type Op = readonly string[];

// A: spec = {g = guards [{k, f?, v}], o = ops}, as JSON (a variable number of each, in one argument).
const GUARDED_WRITE = defineScript({
  name: 'guardedWrite',
  keys: [],
  args: ['spec'],
  lua: `
local spec = cjson.decode(A.spec)
for i, g in ipairs(spec.g) do
  local cur
  if g.f then cur = redis.call('HGET', g.k, g.f) else cur = redis.call('GET', g.k) end
  if cur == false then cur = nil end
  local want = g.v
  if want == cjson.null then want = nil end
  if cur ~= want then return i end
end
for _, op in ipairs(spec.o) do
  if op[1] == 'DELIFEQ' then
    if redis.call('GET', op[2]) == op[3] then redis.call('DEL', op[2]) end
  else
    redis.call(unpack(op))
  end
end
return 0
`,
  decode: (failedGuard) => Number(failedGuard) === 0,
});

/**
 * Applies `ops` if all `guards` hold. Resolves true when applied, false when a guard failed (someone
 * else changed what we read: read again and decide again).
 */
export async function guardedWrite(
  redis: Redis,
  guards: readonly Guard[],
  ops: readonly Op[],
): Promise<boolean> {
  const spec = JSON.stringify({
    g: guards.map((g) => ({ k: g.key, ...(g.field ? { f: g.field } : {}), v: g.equals })),
    o: ops,
  });
  return GUARDED_WRITE.run(redis, { spec });
}
