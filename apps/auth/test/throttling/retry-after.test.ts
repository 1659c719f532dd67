import { describe, expect, it } from 'vitest';
import { retryAfterSeconds } from '../../src/throttling/throttles.js';

const over = (retryAfterMs: number) => ({ allowed: false, remaining: 0, retryAfterMs });
const ok = { allowed: true, remaining: 3, retryAfterMs: 0 };

describe('retryAfterSeconds', () => {
  it('rounds up to whole seconds and never says 0 while limited', () => {
    expect(retryAfterSeconds([over(1)])).toBe(1);
    expect(retryAfterSeconds([over(1500)])).toBe(2);
    expect(retryAfterSeconds([over(0)])).toBe(1);
  });

  it('waits for the longest of the limits that refused', () => {
    expect(retryAfterSeconds([over(5000), ok, over(900_000)])).toBe(900);
  });
});
