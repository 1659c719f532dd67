// The one MongoDB error this service branches on: a unique-key conflict (code 11000), which several
// repositories use as their atomic "somebody else got here first".
export const isDuplicateKey = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
