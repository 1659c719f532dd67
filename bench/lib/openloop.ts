// Open-loop load: arrivals at a fixed offered rate whatever the server does, each with its intended send
// time, so a stall shows up as latency of every message that should have gone out meanwhile (no
// coordinated omission). `send(i, intendedMs)` is called for arrival i at (or as soon as possible after)
// its intended time, on the performance.now() clock.
export async function openLoop(
  ratePerSecond: number,
  durationMs: number,
  send: (i: number, intendedMs: number) => void,
): Promise<{ sent: number; startedMs: number; endedMs: number; lateMaxMs: number }> {
  const interval = 1000 / ratePerSecond;
  const total = Math.max(1, Math.floor((ratePerSecond * durationMs) / 1000));
  const startedMs = performance.now();
  let i = 0;
  let lateMaxMs = 0;
  while (i < total) {
    const now = performance.now();
    const due = Math.min(total, Math.floor((now - startedMs) / interval) + 1);
    for (; i < due; i++) {
      const intended = startedMs + i * interval;
      lateMaxMs = Math.max(lateMaxMs, now - intended);
      send(i, intended);
    }
    // Yield to the event loop (receive), then come back at the next arrival; setImmediate when it is due.
    const next = startedMs + i * interval - performance.now();
    await new Promise((r) => (next > 1.5 ? setTimeout(r, Math.floor(next - 0.5)) : setImmediate(r)));
  }
  return { sent: total, startedMs, endedMs: performance.now(), lateMaxMs };
}
