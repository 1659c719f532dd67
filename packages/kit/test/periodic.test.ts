import { describe, expect, it } from 'vitest';
import { every } from '../src/periodic.js';

const quietLog = () => {
  const warnings: string[] = [];
  return { warnings, log: { warn: (_o: unknown, msg: string) => void warnings.push(msg) } as never };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('every', () => {
  it('never runs the job twice at once: ticks during a run are skipped, run() joins the one in flight', async () => {
    const { log } = quietLog();
    let active = 0;
    let most = 0;
    let runs = 0;
    let release = () => {};
    const job = every({ name: 'slow', intervalMs: 5, log }, async () => {
      runs++;
      active++;
      most = Math.max(most, active);
      await new Promise<void>((r) => {
        release = r;
      });
      active--;
    });
    const first = job.run();
    const second = job.run();
    await sleep(50); // ten ticks while the first run is held
    expect(runs).toBe(1);
    release();
    await Promise.all([first, second]);
    await job.stop();
    expect(most).toBe(1);
  });

  it('logs a failure as "<name> failed" and runs again at the next tick', async () => {
    const { log, warnings } = quietLog();
    let runs = 0;
    const job = every({ name: 'flaky sweep', intervalMs: 5, log }, async () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    });
    await expect(job.run()).resolves.toBeUndefined();
    await sleep(40);
    await job.stop();
    expect(warnings[0]).toBe('flaky sweep failed');
    expect(runs).toBeGreaterThan(1);
  });

  it('skips ticks while `when` is false, and stop() waits for the run in flight and ends the ticks', async () => {
    const { log } = quietLog();
    let ready = false;
    let runs = 0;
    let finished = false;
    const job = every({ name: 'gated', intervalMs: 5, log, when: () => ready }, async () => {
      runs++;
      await sleep(20);
      finished = true;
    });
    await sleep(30);
    expect(runs).toBe(0);
    ready = true;
    while (runs === 0) await sleep(2);
    await job.stop();
    expect(finished).toBe(true);
    const after = runs;
    await sleep(30);
    expect(runs).toBe(after);
  });
});
