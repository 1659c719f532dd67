// Compiled TypeBox validators for inputs that do not pass through Fastify (socket payloads, bus data).
import { FormatRegistry, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck, ValueErrorType } from '@sinclair/typebox/compiler';

const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
if (!FormatRegistry.Has('date-time'))
  FormatRegistry.Set('date-time', (v) => ISO_DATE_TIME.test(v) && !Number.isNaN(Date.parse(v)));
if (!FormatRegistry.Has('uri'))
  FormatRegistry.Set('uri', (v) => {
    try {
      return Boolean(new URL(v).protocol);
    } catch {
      return false;
    }
  });

export interface Validator<T extends TSchema> {
  check(value: unknown): value is Static<T>;
  /** First few errors as `path: message`, for acks and logs (never the value itself). */
  explain(value: unknown): string;
}

/**
 * Where a value holds a NUL (U+0000) in a string or a key, as a JSON-pointer-like path, or null. Every
 * input is refused with it (REST in kit's app, sockets and bus data here): MongoDB stores a NUL, the local
 * store's PostgreSQL (jsonb under FerretDB) cannot, and no name, token or message needs one.
 */
export function nulPath(value: unknown, path = '', depth = 0): string | null {
  if (typeof value === 'string') return value.includes('\u0000') ? path || '/' : null;
  // Raw bytes (the gateway forwards bodies unparsed) are the upstream's to read: not walked here.
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || depth > 32) return null;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return `${path}/${k.replaceAll('\u0000', '\\u0000')}`;
    const found = nulPath(v, `${path}/${k}`, depth + 1);
    if (found) return found;
  }
  return null;
}

const cache = new WeakMap<TSchema, TypeCheck<TSchema>>();

export function validator<T extends TSchema>(schema: T): Validator<T> {
  let compiled = cache.get(schema) as TypeCheck<T> | undefined;
  if (!compiled) {
    compiled = TypeCompiler.Compile(schema);
    cache.set(schema, compiled);
  }
  const c = compiled;
  return {
    check: (value: unknown): value is Static<T> => c.Check(value) && nulPath(value) === null,
    // The first three errors only, taken lazily: a hostile payload with thousands of wrong fields costs
    // three errors' work, not thousands.
    explain: (value: unknown) => {
      const out: string[] = [];
      const nul = nulPath(value);
      if (nul) out.push(`${nul}: must not contain NUL (U+0000)`);
      for (const e of c.Errors(value)) {
        // A pattern in words (the schema's description), as kit's REST validation says it.
        const rule = e.type === ValueErrorType.StringPattern ? e.schema.description : undefined;
        out.push(`${e.path || '/'}: ${typeof rule === 'string' ? `must be ${rule}` : e.message}`);
        if (out.length === 3) break;
      }
      return out.join('; ');
    },
  };
}
