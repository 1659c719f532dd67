// fast-check arbitraries made from the contract schemas (TypeBox, i.e. JSON Schema): values the schema
// accepts, and the ways an attacker bends them (a field of the wrong type, operator and prototype keys,
// any JSON at all). Property names listed in `hints` also draw from real values (live call ids, real user
// ids), so the fuzzing reaches past "no such call".
import type { TSchema } from '@sinclair/typebox';
import fc from 'fast-check';

export type Hints = Record<string, readonly string[]>;

interface JsonSchema {
  type?: string | string[];
  const?: unknown;
  anyOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
}

/** Operator and prototype keys an attacker puts where a value or a key belongs. */
export const HOSTILE_KEYS = [
  '$ne',
  '$gt',
  '$where',
  '$regex',
  '__proto__',
  'constructor',
  'prototype',
] as const;

/** `{[key]: value}` as an own, enumerable property, also for `__proto__` (which `o[k] = v` would not make). */
export function withKey(target: object, key: string, value: unknown): Record<string, unknown> {
  const o: Record<string, unknown> = { ...target };
  Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });
  return o;
}

const stringOf = (s: JsonSchema): fc.Arbitrary<string> => {
  const min = s.minLength ?? 0;
  const max = Math.min(s.maxLength ?? 200, 200);
  if (s.format === 'date-time')
    return fc
      .date({
        min: new Date('1970-01-01T00:00:00Z'),
        max: new Date('2200-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString());
  if (s.format === 'uri')
    return fc.oneof(fc.webUrl(), fc.constantFrom('javascript:alert(1)', 'data:text/html,x'));
  const inRange = (v: string) => v.length >= min && v.length <= (s.maxLength ?? Number.MAX_SAFE_INTEGER);
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter(inRange);
  const edges: fc.Arbitrary<string>[] = [];
  // The longest allowed value now and then: the limits themselves are where bugs live.
  if (s.maxLength !== undefined && s.maxLength > 200) edges.push(fc.constant('x'.repeat(s.maxLength)));
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: min, maxLength: max }) },
    { weight: 2, arbitrary: fc.string({ minLength: min, maxLength: max, unit: 'binary' }) },
    ...edges.map((arbitrary) => ({ weight: 1, arbitrary })),
  );
};

/** Values `schema` accepts (as far as a generator can tell; the server has the last word). */
export function valid(schema: TSchema | JsonSchema, hints: Hints = {}, name?: string): fc.Arbitrary<unknown> {
  const s = schema as JsonSchema;
  const hinted = name !== undefined ? hints[name] : undefined;
  const base = validOf(s, hints);
  return hinted && hinted.length > 0 ? fc.oneof(fc.constantFrom(...hinted), base) : base;
}

function validOf(s: JsonSchema, hints: Hints): fc.Arbitrary<unknown> {
  if ('const' in s) return fc.constant(s.const);
  if (s.anyOf) return fc.oneof(...s.anyOf.map((x) => valid(x, hints)));
  if (s.allOf) {
    const parts = s.allOf.map((x) => valid(x, hints));
    return fc
      .tuple(...parts)
      .map((vs) => Object.assign({}, ...vs.map((v) => (typeof v === 'object' ? v : {}))));
  }
  switch (s.type) {
    case 'object': {
      const props = s.properties ?? {};
      const model = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, valid(v, hints, k)]));
      return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
    }
    case 'string':
      return stringOf(s);
    case 'integer':
      return fc.integer({ min: s.minimum ?? -(2 ** 31), max: s.maximum ?? 2 ** 31 });
    case 'number':
      return fc.double({ min: s.minimum ?? -1e9, max: s.maximum ?? 1e9, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return fc.array(valid(s.items ?? {}, hints), {
        minLength: s.minItems ?? 0,
        maxLength: Math.min(s.maxItems ?? 5, 5),
      });
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/**
 * What an attacker sends where `schema` is expected: mostly valid values (so requests reach the logic),
 * then one field of any type, an operator or prototype key added, a field replaced by an operator
 * object, or any JSON value at all.
 */
export function hostile(schema: TSchema, hints: Hints = {}): fc.Arbitrary<unknown> {
  const s = schema as JsonSchema;
  const ok = valid(s, hints);
  const keys = Object.keys(s.properties ?? {});
  const anyJson = fc.jsonValue({ maxDepth: 3 });
  const variants: { weight: number; arbitrary: fc.Arbitrary<unknown> }[] = [
    { weight: 5, arbitrary: ok },
    { weight: 1, arbitrary: anyJson },
  ];
  if (s.type === 'object') {
    variants.push(
      {
        weight: 1,
        arbitrary: fc
          .tuple(ok, fc.constantFrom(...HOSTILE_KEYS, 'extra'), anyJson)
          .map(([v, k, x]) => withKey(typeof v === 'object' && v ? v : {}, k, x)),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(ok, fc.constantFrom(...HOSTILE_KEYS), anyJson)
          .map(([v, k, x]) => withKey(typeof v === 'object' && v ? v : {}, k, withKey({}, '$ne', x))),
      },
    );
    if (keys.length > 0)
      variants.push(
        {
          weight: 2,
          arbitrary: fc
            .tuple(ok, fc.constantFrom(...keys), anyJson)
            .map(([v, k, x]) => withKey(typeof v === 'object' && v ? v : {}, k, x)),
        },
        {
          weight: 1,
          arbitrary: fc
            .tuple(ok, fc.constantFrom(...keys), fc.constantFrom('$ne', '$gt', '$regex', '$where'))
            .map(([v, k, op]) =>
              withKey(typeof v === 'object' && v ? v : {}, k, withKey({}, op, op === '$regex' ? '.*' : null)),
            ),
        },
      );
  }
  return fc.oneof(...variants);
}

/** A query string for `schema`'s object: hostile values stringified, sometimes a bracketed operator key. */
export function hostileQuery(schema: TSchema | undefined, hints: Hints = {}): fc.Arbitrary<string> {
  if (!schema) return fc.constant('');
  return fc
    .tuple(hostile(schema, hints), fc.option(fc.constantFrom(...HOSTILE_KEYS), { nil: undefined }))
    .map(([v, op]) => {
      const q = new URLSearchParams();
      if (v && typeof v === 'object' && !Array.isArray(v))
        for (const [k, x] of Object.entries(v))
          q.append(k, typeof x === 'string' ? x : (JSON.stringify(x) ?? ''));
      else q.append('q', JSON.stringify(v) ?? '');
      let out = q.toString();
      const first = Object.keys((schema as JsonSchema).properties ?? {})[0] ?? 'q';
      if (op) out += `${out ? '&' : ''}${encodeURIComponent(first)}[${encodeURIComponent(op)}]=x`;
      return out ? `?${out}` : '';
    });
}
