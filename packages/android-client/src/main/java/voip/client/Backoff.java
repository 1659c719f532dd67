// Reconnection delays of seed 001: 1, 2, 4, 8, 16 s, five tries, then give up; with jitter (seed 004) so
// a thousand phones that lost the same server do not come back in lock-step. Same rule as the TypeScript
// SDK (packages/client/src/backoff.ts).
package voip.client;

import java.util.function.DoubleSupplier;

public final class Backoff {
  public static final int MAX_ATTEMPTS = 5;

  private final long baseMs;
  private final long maxMs;
  private final double jitter;
  private final DoubleSupplier random;

  /** @param jitter 0 = exact schedule, 1 = full jitter (uniform between 0 and the step) */
  public Backoff(long baseMs, long maxMs, double jitter, DoubleSupplier random) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.jitter = Math.min(Math.max(jitter, 0), 1);
    this.random = random;
  }

  /** Seed 001's schedule with half jitter: try n waits between half and all of 1, 2, 4, 8, 16 s. */
  public static Backoff standard() {
    return new Backoff(1000, 16_000, 0.5, Math::random);
  }

  /** The wait before try {@code attempt} (0-based) of one outage. */
  public long delayMs(int attempt) {
    double step = Math.min(maxMs, baseMs * Math.pow(2, Math.max(0, attempt)));
    double spread = step * jitter;
    return Math.round(step - spread + random.getAsDouble() * spread);
  }
}
