// The bus envelope `{v, type, id, source, at, data}`: built and validated on publish, parsed and
// validated on receive. A message that is not valid JSON, not an envelope, or whose data does not
// match its type's schema is reported as such — never thrown at a consumer.
import { BusEvents, type BusEventData, type BusEventType, Envelope } from '@voip/contracts/bus-events';
import { validator } from '@voip/contracts/validate';
import { ulid } from 'ulid';

const envelopeValidator = validator(Envelope);
const dataValidators = Object.fromEntries(
  Object.entries(BusEvents).map(([t, s]) => [t, validator(s)]),
) as Record<string, ReturnType<typeof validator>>;

export type BusEnvelope<K extends BusEventType = BusEventType> = {
  [T in K]: { v: 1; type: T; id: string; source: string; at: string; data: BusEventData<T> };
}[K];

export class BusValidationError extends Error {
  override name = 'BusValidationError';
}

export function isKnownType(type: string): type is BusEventType {
  return Object.hasOwn(BusEvents, type);
}

/** Builds an envelope; throws BusValidationError when data does not match the type's schema. */
export function createEnvelope<K extends BusEventType>(
  type: K,
  data: BusEventData<K>,
  source: string,
): BusEnvelope<K> {
  const v = dataValidators[type];
  if (!v) throw new BusValidationError(`unknown bus event type ${type}`);
  if (!v.check(data)) throw new BusValidationError(`invalid ${type} data: ${v.explain(data)}`);
  return { v: 1, type, id: ulid(), source, at: new Date().toISOString(), data } as BusEnvelope<K>;
}

export type ParseResult =
  | { ok: true; envelope: BusEnvelope }
  | {
      ok: false;
      reason: 'invalid-json' | 'invalid-envelope' | 'unknown-type' | 'invalid-data';
      detail: string;
      type?: string;
    };

/** Parses a raw message. Unknown types are reported separately: consumers skip them (only ever add types). */
export function parseEnvelope(raw: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'invalid-json', detail: 'not JSON' };
  }
  if (!envelopeValidator.check(value))
    return { ok: false, reason: 'invalid-envelope', detail: envelopeValidator.explain(value) };
  const env = value as Envelope;
  if (!isKnownType(env.type)) return { ok: false, reason: 'unknown-type', detail: env.type, type: env.type };
  const v = dataValidators[env.type]!;
  if (!v.check(env.data))
    return { ok: false, reason: 'invalid-data', detail: v.explain(env.data), type: env.type };
  return { ok: true, envelope: env as BusEnvelope };
}
