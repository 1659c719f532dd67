import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/push/backoff.js';
import { createCircuitBreaker } from '../../src/push/circuit-breaker.js';

describe('circuit breaker', () => {
  const clock = () => {
    let t = 1_000_000;
    return { now: () => t, advance: (ms: number) => (t += ms) };
  };

  it('opens after the threshold of consecutive failures and refuses while open', () => {
    const c = clock();
    const changes: string[] = [];
    const b = createCircuitBreaker({
      threshold: 3,
      cooldownMs: 1000,
      now: c.now,
      onStateChange: (s) => changes.push(s),
    });
    for (let i = 0; i < 2; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.recordFailure();
    }
    expect(b.state).toBe('closed');
    b.recordFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    expect(changes).toEqual(['open']);
  });

  it('a success resets the failure count', () => {
    const b = createCircuitBreaker({ threshold: 2, cooldownMs: 1000 });
    b.recordFailure();
    b.recordSuccess();
    b.recordFailure();
    expect(b.state).toBe('closed');
  });

  it('lets one probe through after the cool-down; its success closes, its failure re-opens', () => {
    const c = clock();
    const b = createCircuitBreaker({ threshold: 1, cooldownMs: 1000, now: c.now });
    b.recordFailure();
    c.advance(999);
    expect(b.tryAcquire()).toBe(false);
    c.advance(1);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
    b.recordFailure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    c.advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.recordSuccess();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
  });
});

describe('back-off with full jitter', () => {
  it('grows exponentially up to the cap and is spread by the random factor', () => {
    expect(backoffDelay(0, 100, 1000, () => 0.999)).toBe(99);
    expect(backoffDelay(3, 100, 1000, () => 0.999)).toBe(799);
    expect(backoffDelay(10, 100, 1000, () => 0.999)).toBe(999);
    expect(backoffDelay(3, 100, 1000, () => 0)).toBe(0);
    expect(backoffDelay(2, 100, 1000, () => 0.5)).toBe(200);
  });
});
