// Every Lua script in the backend is defined here the same way: its keys and arguments are named once,
// the Lua reads them by name (K.call, A.deviceId) and the result is decoded once into an object, so a
// field change is one edit the compiler follows instead of KEYS[n]/ARGV[n] and res[n] kept in step.
// One runner: EVALSHA (a 40-byte hash on hot paths), EVAL when the server has not seen the script
// (first use, or Redis restarted), which also loads it for the next EVALSHA.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A name ending in `[]` takes the rest of KEYS (or ARGV) as a list; only the last name may. */
type Base<N extends string> = N extends `${infer B}[]` ? B : N;
type KeyValue<N extends string> = N extends `${string}[]` ? readonly string[] : string;
type ArgValue<N extends string> = N extends `${string}[]` ? readonly (string | number)[] : string | number;

export type ScriptInput<K extends string, A extends string> = { [N in K as Base<N>]: KeyValue<N> } & {
  [N in A as Base<N>]: ArgValue<N>;
};

export interface ScriptSpec<K extends string, A extends string, Out> {
  /** For errors and logs. */
  name: string;
  /** KEYS, in order: the Lua reads `K.<name>`. */
  keys: readonly K[];
  /** ARGV, in order: the Lua reads `A.<name>` (a string, as Redis passes it). */
  args: readonly A[];
  /** The body; runs after the prelude that names K and A. */
  lua: string;
  /** The script's reply, as Redis returned it, into what callers use. */
  decode: (reply: unknown) => Out;
}

export interface RedisScript<K extends string, A extends string, Out> {
  readonly name: string;
  /** The full source sent to Redis (prelude + body) and its SHA-1. */
  readonly source: string;
  readonly sha: string;
  run(redis: Redis, input: ScriptInput<K, A>): Promise<Out>;
}

const LUA_WORDS = new Set(
  'and break do else elseif end false for function goto if in local nil not or repeat return then true until while'.split(
    ' ',
  ),
);

function checkNames(script: string, names: readonly string[]): void {
  names.forEach((n, i) => {
    const base = n.endsWith('[]') ? n.slice(0, -2) : n;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(base) || LUA_WORDS.has(base))
      throw new Error(`script ${script}: "${n}" is not a Lua name`);
    if (base !== n && i !== names.length - 1)
      throw new Error(`script ${script}: only the last name may be a list`);
  });
}

/** `local K = {a = KEYS[1], …}`, with a trailing list collecting the rest. */
function prelude(table: string, from: string, names: readonly string[]): string {
  const fixed = names.filter((n) => !n.endsWith('[]'));
  const fields = fixed.map((n, i) => `${n} = ${from}[${i + 1}]`).join(', ');
  let out = `local ${table} = {${fields}}\n`;
  const list = names.find((n) => n.endsWith('[]'));
  if (list) out += `${table}.${list.slice(0, -2)} = {unpack(${from}, ${fixed.length + 1})}\n`;
  return out;
}

function flatten(input: Record<string, unknown>, names: readonly string[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (const n of names) {
    const v = input[n.endsWith('[]') ? n.slice(0, -2) : n];
    if (Array.isArray(v)) out.push(...(v as (string | number)[]));
    else out.push(v as string | number);
  }
  return out;
}

export function defineScript<const K extends string, const A extends string, Out>(
  spec: ScriptSpec<K, A, Out>,
): RedisScript<K, A, Out> {
  checkNames(spec.name, spec.keys);
  checkNames(spec.name, spec.args);
  const dup = spec.keys.find((k) => (spec.args as readonly string[]).includes(k));
  if (dup) throw new Error(`script ${spec.name}: "${dup}" is both a key and an argument`);
  const source = `${prelude('K', 'KEYS', spec.keys)}${prelude('A', 'ARGV', spec.args)}${spec.lua}`;
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    name: spec.name,
    source,
    sha,
    async run(redis, input) {
      const keys = flatten(input as Record<string, unknown>, spec.keys) as string[];
      const args = flatten(input as Record<string, unknown>, spec.args);
      let reply: unknown;
      try {
        reply = await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
        reply = await redis.eval(source, keys.length, ...keys, ...args);
      }
      return spec.decode(reply);
    },
  };
}

/**
 * Sets one field of a hash only while the hash exists (false, and nothing written, once it is gone): a bare
 * HSET on a record that was just removed would bring it back without its other fields or its TTL.
 */
export const HSET_IF_EXISTS = defineScript({
  name: 'hsetIfExists',
  keys: ['hash'],
  args: ['field', 'value'],
  lua: `
if redis.call('EXISTS', K.hash) == 0 then return 0 end
redis.call('HSET', K.hash, A.field, A.value)
return 1`,
  decode: (reply) => reply === 1,
});

/** For decoders: a reply element as a string ('' for nil/false). */
export const str = (v: unknown): string =>
  typeof v === 'string' ? v : v == null || v === false ? '' : String(v);
