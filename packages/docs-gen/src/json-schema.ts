// TypeBox schemas are JSON Schema plus symbol-keyed metadata; the documents need the plain JSON
// (symbols dropped, `$id`s removed so an inlined schema never claims an id twice).
import type { TSchema } from '@sinclair/typebox';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function plainSchema(schema: TSchema): JsonObject {
  return stripIds(JSON.parse(JSON.stringify(schema)) as JsonValue) as JsonObject;
}

function stripIds(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(stripIds);
  if (value === null || typeof value !== 'object') return value;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(value)) if (k !== '$id') out[k] = stripIds(v);
  return out;
}
