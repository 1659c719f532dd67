import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../src/backoff.js';

describe('backoffDelay', () => {
  it('follows 1, 2, 4, 8, 16 s without jitter (seed 001) and stays at the cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, { jitter: 0 }));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 16000, 16000]);
  });

  it('spreads delays within [step*(1-jitter), step] and never above the cap', () => {
    const lows = backoffDelay(3, { jitter: 0.5, random: () => 0 });
    const highs = backoffDelay(3, { jitter: 0.5, random: () => 0.999999 });
    expect(lows).toBe(4000);
    expect(highs).toBe(8000);
    const samples = Array.from({ length: 200 }, () => backoffDelay(10, { maxMs: 30_000, jitter: 1 }));
    expect(Math.max(...samples)).toBeLessThanOrEqual(30_000);
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
    expect(new Set(samples).size).toBeGreaterThan(50);
  });
});
