// Every schema a client's input meets is closed: an object schema that let unknown keys through would let
// a stranger smuggle data past validation (and, for socket payloads, to the peer). This walks every export
// of every module, so a schema added later cannot forget `additionalProperties: false`.
import { readdirSync } from 'node:fs';
import { Kind, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { ClientEventSchemas } from '../src/socket.js';
import { validator } from '../src/validate.js';

/**
 * Written and read only by our own services (signed, or inside Redis), where a reader that tolerates a
 * field it does not know yet keeps a rolling upgrade working. See the package README, "Closed schemas".
 */
const INTERNAL_ONLY = new Set(['bus-events.ts', 'tokens.ts', 'user-clients.ts']);

const isSchema = (v: unknown): v is TSchema => typeof v === 'object' && v !== null && Kind in v;

/** Paths of the open object schemas (and intersections, which cannot be closed) in `value`. */
function openObjects(value: unknown, path: string, seen = new Set<unknown>()): string[] {
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  const found: string[] = [];
  if (isSchema(value)) {
    const s = value as TSchema & { additionalProperties?: unknown; patternProperties?: unknown };
    if (s[Kind] === 'Intersect') found.push(`${path} (Intersect: use Type.Composite)`);
    // A Record (patternProperties) validates every key it takes; anything else must say false.
    else if (s.type === 'object' && s.additionalProperties !== false && !s.patternProperties)
      found.push(path);
  }
  for (const [k, v] of Object.entries(value)) found.push(...openObjects(v, `${path}.${k}`, seen));
  return found;
}

const modules = readdirSync(new URL('../src/', import.meta.url)).filter(
  (f) => f.endsWith('.ts') && !INTERNAL_ONLY.has(f),
);

describe('closed schemas', () => {
  it('finds the modules to walk', () => {
    expect(modules).toEqual(
      expect.arrayContaining(['socket.ts', 'auth.ts', 'users.ts', 'calls.ts', 'public-routes.ts']),
    );
  });

  it.each(modules)('%s: every exported object schema has additionalProperties: false', async (file) => {
    const mod = (await import(`../src/${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
    const open = Object.entries(mod).flatMap(([name, v]) => openObjects(v, name));
    expect(open).toEqual([]);
  });

  it('the walk sees an open object, nested or in an intersection', async () => {
    const { Type } = await import('@sinclair/typebox');
    const nested = Type.Object({ a: Type.Object({ b: Type.String() }) }, { additionalProperties: false });
    expect(openObjects({ nested }, 'm')).toEqual(['m.nested.properties.a']);
    const closed = (k: string) => Type.Object({ [k]: Type.String() }, { additionalProperties: false });
    const both = Type.Intersect([closed('a'), closed('b')]);
    expect(openObjects({ both }, 'm')).toEqual(['m.both (Intersect: use Type.Composite)']);
    expect(openObjects({ rec: Type.Record(Type.String(), Type.String()) }, 'm')).toEqual([]);
  });

  it('socket payloads with an extra key anywhere are refused', () => {
    const callId = '01JD3Y4Q8W6S7T9V0X1Z2A3B4C';
    const sdp = 'v=0\r\n';
    const smuggled = 'x'.repeat(100);
    expect(
      validator(ClientEventSchemas['call-user']).check({ callId, offer: { type: 'offer', sdp, smuggled } }),
    ).toBe(false);
    expect(
      validator(ClientEventSchemas['accept-call']).check({
        callId,
        answer: { type: 'answer', sdp, smuggled },
      }),
    ).toBe(false);
    expect(
      validator(ClientEventSchemas.renegotiate).check({
        callId,
        description: { type: 'offer', sdp, smuggled },
      }),
    ).toBe(false);
    const candidate = {
      candidate: 'candidate:1 1 udp 1 192.0.2.1 5000 typ host',
      sdpMid: '0',
      sdpMLineIndex: 0,
    };
    expect(validator(ClientEventSchemas['ice-candidate']).check({ callId, candidate })).toBe(true);
    expect(
      validator(ClientEventSchemas['ice-candidate']).check({ callId, candidate: { ...candidate, smuggled } }),
    ).toBe(false);
    expect(validator(ClientEventSchemas.heartbeat).check({})).toBe(true);
    expect(validator(ClientEventSchemas.heartbeat).check({ smuggled })).toBe(false);
  });
});
