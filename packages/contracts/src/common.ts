// Building blocks shared by every schema: ids, timestamps and the one error shape of API.md.
import { type Static, type TLiteral, type TNull, type TSchema, type TUnion, Type } from '@sinclair/typebox';

/** Ids are opaque strings (ULIDs for everything this backend creates). */
export const Id = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
  description: 'an id: letters, digits, _ or -',
});
export const IsoDateTime = Type.String({ format: 'date-time' });
/** Control characters: C0, DEL, C1 (JSON Schema pattern syntax, the same with or without the `u` flag). */
const CONTROL = '\\u0000-\\u001F\\u007F-\\u009F';
/**
 * A name other people see (the incoming-call screen, contacts): 1–64 characters, not only white space, and
 * no control character (a line break, an escape or a C1 code in a caller's name spoofs the screen).
 */
export const DisplayName = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: `^[^${CONTROL}]*[^\\s${CONTROL}][^${CONTROL}]*$`,
  description: 'a name that is not only white space and has no control characters',
});
/** A closed set of strings: the union of their literals (JSON Schema `anyOf` of `const`s), as Type.Union writes it. */
export function OneOf<const T extends readonly string[]>(...values: T): TUnion<{ -readonly [K in keyof T]: TLiteral<T[K]> }> {
  return Type.Union(values.map((v) => Type.Literal(v))) as never;
}
/** A value or `null` (JSON Schema `anyOf: [schema, {type: 'null'}]`): a field that is always present but may be empty. */
export function Nullable<T extends TSchema>(schema: T): TUnion<[T, TNull]> {
  return Type.Union([schema, Type.Null()]);
}
export const PrincipalKind = OneOf('user', 'guest', 'admin');
export type PrincipalKind = Static<typeof PrincipalKind>;

/** Every error code a client may see, with the HTTP status it travels with. */
export const ErrorStatus = {
  VALIDATION_FAILED: 400,
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  TOKEN_EXPIRED: 401,
  INVALID_CREDENTIALS: 401,
  SESSION_REVOKED: 401,
  FORBIDDEN: 403,
  BLOCKED: 403,
  NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  CALL_NOT_FOUND: 404,
  CONFLICT: 409,
  USERNAME_TAKEN: 409,
  CALLER_BUSY: 409,
  CALLEE_BUSY: 409,
  INVALID_STATE: 409,
  /** Nginx: a request line over its header buffer. */
  URI_TOO_LONG: 414,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  /** Before routing: request headers over the server's limit (Node's 16 KiB). */
  HEADERS_TOO_LARGE: 431,
  /** Before routing: the request did not arrive in time. */
  REQUEST_TIMEOUT: 408,
  INTERNAL: 500,
  UPSTREAM_UNAVAILABLE: 503,
  UNAVAILABLE: 503,
  /** signaling: a new Socket.io handshake reached an instance that is shutting down (Nginx retries another). */
  DRAINING: 503,
  /** signaling: a new handshake reached an instance at its connection limit. */
  OVERLOADED: 503,
  UPSTREAM_TIMEOUT: 504,
} as const;
export type ErrorCode = keyof typeof ErrorStatus;

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }, { additionalProperties: false }),
  },
  { $id: 'ErrorBody', additionalProperties: false },
);
export type ErrorBody = Static<typeof ErrorBody>;

/** Standard error responses to attach to a route's `response` map. */
export const errorResponses = (...statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBody]));

export const CursorQuery = Type.Object(
  {
    before: Type.Optional(Type.String({ maxLength: 200 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  },
  { additionalProperties: false },
);
