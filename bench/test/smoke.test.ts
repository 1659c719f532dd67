// The harness works end to end (not a benchmark: no figure is asserted for speed): two scenarios run at
// tiny sizes for a few seconds each through `run.ts`, into a temporary results folder, and their JSON has
// the fields BENCHMARKS.md is made from. cross-instance covers the signaling instances, the generator
// processes, the in-process pub/sub tap and complete calls; resume covers Toxiproxy and the resume path.
// The PNG writer is checked on its own. The other scenarios run only under `pnpm bench`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { renderChart } from '../lib/png.ts';

const dir = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pnpm bench (smoke)', () => {
  it('runs cross-instance and resume at tiny sizes and writes sane result JSON', () => {
    const r = spawnSync(process.execPath, ['run.ts', 'cross-instance', 'resume'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, BENCH_QUICK: '1', BENCH_RESULTS_DIR: dir },
      encoding: 'utf8',
      timeout: 110_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    for (const name of ['cross-instance', 'resume']) {
      const j = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8'));
      expect(j).toMatchObject({
        scenario: name,
        machine: { cores: expect.any(Number) },
        commit: expect.any(String),
      });
      expect(j.targets.length).toBeGreaterThan(0);
      for (const t of j.targets)
        expect(t).toEqual({
          name: expect.any(String),
          target: expect.any(String),
          value: expect.any(String),
          met: expect.any(Boolean),
        });
    }
    const cross = JSON.parse(readFileSync(join(dir, 'cross-instance.json'), 'utf8'));
    const perCall = cross.data.perCall as Record<string, Record<string, { median: number }>>;
    // The callee's instance saw the caller's ICE candidates arrive through the adapter.
    const atB = Object.entries(perCall['B (callees)']!).find(([k]) => k.includes('ice-candidate'));
    expect(atB?.[1].median).toBeGreaterThan(0);
    expect(cross.data.failed).toBe(0);
    const resume = JSON.parse(readFileSync(join(dir, 'resume.json'), 'utf8'));
    const ours = resume.data.runs.ours[0];
    expect(ours.sent).toBeGreaterThan(0);
    expect(ours.resumed).toBe(true);
    expect(ours.sdk.received).toBeGreaterThan(0);
  });

  it('draws a chart as a valid PNG of the requested size', () => {
    const png = renderChart({
      title: 'smoke',
      xLabel: 'x',
      yLabel: 'y',
      width: 320,
      height: 200,
      logY: true,
      series: [
        {
          name: 'a',
          points: [
            { x: 1, y: 1 },
            { x: 2, y: 10 },
          ],
        },
      ],
    });
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.readUInt32BE(16)).toBe(320);
    expect(png.readUInt32BE(20)).toBe(200);
    const idatLen = png.readUInt32BE(33);
    const raw = inflateSync(png.subarray(41, 41 + idatLen));
    expect(raw.length).toBe((320 * 3 + 1) * 200);
    // Not blank: the line's colour is there.
    expect(raw.includes(Buffer.from([31, 119, 180]))).toBe(true);
  });
});
