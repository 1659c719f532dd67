// Reconnection delays: exponential (1, 2, 4, 8, 16 s by default, seed 001) with a cap and full
// jitter (seed 004), so a thousand phones that lost the same server do not come back in lock-step.
export interface BackoffOptions {
  baseMs?: number;
  factor?: number;
  maxMs?: number;
  /** 0 = exact schedule, 1 = full jitter (uniform between 0 and the step). */
  jitter?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const { baseMs = 1000, factor = 2, maxMs = 16_000, jitter = 0.5, random = Math.random } = opts;
  const step = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt));
  const spread = step * Math.min(Math.max(jitter, 0), 1);
  return Math.round(step - spread + random() * spread);
}
