package voip.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {
  @Test
  void followsSeed001WithoutJitterAtTheTop() {
    Backoff b = new Backoff(1000, 16_000, 0.5, () -> 1.0);
    long[] want = {1000, 2000, 4000, 8000, 16_000, 16_000};
    for (int i = 0; i < want.length; i++) assertEquals(want[i], b.delayMs(i), "attempt " + i);
    assertEquals(5, Backoff.MAX_ATTEMPTS);
  }

  @Test
  void jitterSpreadsEachStepOverItsUpperHalf() {
    Backoff low = new Backoff(1000, 16_000, 0.5, () -> 0.0);
    assertEquals(500, low.delayMs(0));
    assertEquals(8000, low.delayMs(4));
    Random r = new Random(7);
    Backoff b = new Backoff(1000, 16_000, 0.5, r::nextDouble);
    long min = Long.MAX_VALUE, max = 0;
    for (int i = 0; i < 2000; i++) {
      long d = b.delayMs(2);
      min = Math.min(min, d);
      max = Math.max(max, d);
    }
    assertTrue(min >= 2000 && max <= 4000, min + ".." + max);
    assertTrue(max - min > 1500, "spread " + (max - min));
  }
}
