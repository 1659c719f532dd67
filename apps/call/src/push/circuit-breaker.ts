// A circuit breaker (seed 004 §3.3) in front of the push endpoint: after `threshold` consecutive
// failures it opens and every send fails at once, so a dead endpoint costs nothing; after `cooldownMs`
// one probe is let through (half-open) and its result closes or re-opens the circuit.
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreaker {
  readonly state: BreakerState;
  /** May a request go out now? In half-open only one probe at a time gets `true`. */
  tryAcquire(): boolean;
  /** The endpoint answered (even with a per-message error such as an invalid token). */
  recordSuccess(): void;
  /** The endpoint failed (network error, time-out, 5xx, 429). */
  recordFailure(): void;
}

export interface CircuitBreakerOptions {
  threshold: number;
  cooldownMs: number;
  now?: () => number;
  onStateChange?: (state: BreakerState, previous: BreakerState) => void;
}

export function createCircuitBreaker({
  threshold,
  cooldownMs,
  now = Date.now,
  onStateChange,
}: CircuitBreakerOptions): CircuitBreaker {
  let state: BreakerState = 'closed';
  let failures = 0;
  let openedAt = 0;
  let probeInFlight = false;

  const moveTo = (next: BreakerState) => {
    if (next === state) return;
    const previous = state;
    state = next;
    onStateChange?.(next, previous);
  };

  return {
    get state() {
      if (state === 'open' && now() - openedAt >= cooldownMs) return 'half-open';
      return state;
    },
    tryAcquire() {
      if (state === 'closed') return true;
      if (state === 'open') {
        if (now() - openedAt < cooldownMs) return false;
        moveTo('half-open');
      }
      if (probeInFlight) return false;
      probeInFlight = true;
      return true;
    },
    recordSuccess() {
      failures = 0;
      probeInFlight = false;
      moveTo('closed');
    },
    recordFailure() {
      probeInFlight = false;
      failures++;
      if (state === 'half-open' || failures >= threshold) {
        openedAt = now();
        moveTo('open');
      }
    },
  };
}
