import { describe, expect, it } from 'vitest';
import { channels, keys, ns, streams } from '../src/redis-keys.js';

/** Calls a key builder with distinct arguments, whatever its arity. */
const build = (f: (...args: string[]) => string, tag = 'x') =>
  f(...Array.from({ length: f.length }, (_, i) => `${tag}${i}`));

describe('redis key layout', () => {
  const builders = Object.entries(keys) as Array<[string, (...args: string[]) => string]>;

  it('namespaces every key, channel and stream under voip:', () => {
    expect(ns).toBe('voip');
    for (const [name, f] of builders) expect(build(f), name).toMatch(/^voip:/);
    for (const [name, c] of Object.entries(channels))
      expect(typeof c === 'string' ? c : build(c), name).toMatch(/^voip:/);
    for (const [name, s] of Object.entries(streams)) expect(s, name).toMatch(/^voip:stream:/);
  });

  it('gives every kind of key its own prefix, so two builders can never collide', () => {
    const built = builders.map(([, f]) => build(f));
    expect(new Set(built).size).toBe(built.length);
    const prefixes = builders.map(([, f]) => build(f).split(':')[1]);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    expect(new Set(Object.values(streams)).size).toBe(Object.keys(streams).length);
  });

  it('puts the arguments into the key', () => {
    expect(keys.session('S1')).toBe('voip:session:S1');
    expect(keys.presence('U1')).toBe('voip:presence:U1');
    expect(keys.call('C1')).toBe('voip:call:C1');
    expect(keys.rateLimit('login-ip', '1.2.3.4')).toBe('voip:rl:login-ip:1.2.3.4');
    expect(channels.bus('session.revoked')).toBe('voip:bus:session.revoked');
  });
});
