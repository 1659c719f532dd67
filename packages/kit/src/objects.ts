// Copying optional fields under exactOptionalPropertyTypes: a field that is not set must stay absent
// rather than become `undefined` (which the compiler, closed schemas and JSON all tell apart).

/** The listed fields of `from` that are set (not `undefined`), and only those. */
export function pickDefined<T extends object, K extends keyof T>(
  from: T,
  fields: readonly K[],
): { [P in K]?: Exclude<T[P], undefined> } {
  const out: { [P in K]?: Exclude<T[P], undefined> } = {};
  for (const field of fields) if (from[field] !== undefined) out[field] = from[field] as Exclude<T[K], undefined>;
  return out;
}
