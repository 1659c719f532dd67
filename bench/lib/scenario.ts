// What a scenario is: a module in bench/scenarios/ whose default export is a Scenario, listed once in
// scenarios/index.ts. run.ts gives it a context, writes what it returns to bench/results/<name>.json,
// draws its charts and puts its markdown between its markers in BENCHMARKS.md.
import type { ChartSpec } from './png.ts';

export interface Target {
  /** What the issue asks, e.g. "relay max ≥ 0.7× bare". */
  name: string;
  target: string;
  value: string;
  met: boolean;
}

export interface ScenarioResult {
  /** The knobs this run used (sizes, durations, repetitions). */
  config: Record<string, unknown>;
  /** Everything measured, scenario-specific, JSON-serialisable. */
  data: Record<string, unknown>;
  targets: Target[];
  /** The scenario's section of BENCHMARKS.md (tables and a line of reading), without its heading. */
  markdown: string;
  /** Charts to draw: file name (in bench/results/) → spec. */
  charts?: Record<string, ChartSpec>;
}

export interface RunContext {
  /** BENCH_QUICK=1: tiny sizes and a few seconds, for the smoke test. */
  quick: boolean;
  /** Repetitions (BENCH_REPS, ≥ 3 unless quick). */
  reps: number;
  log(msg: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  run(ctx: RunContext): Promise<ScenarioResult>;
}

/** A numeric knob from the environment (positive), with its default and its quick-mode value. */
export function knob(name: string, fallback: number, quick?: number): number {
  const raw = process.env[name];
  if (raw !== undefined) {
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
    return v;
  }
  return process.env.BENCH_QUICK === '1' && quick !== undefined ? quick : fallback;
}

/** A comma-separated list of positive numbers (offered rates, fractions of a maximum), like `knob`. */
export function knobList(name: string, fallback: number[], quick?: number[]): number[] {
  const raw = process.env[name];
  if (raw !== undefined) {
    const v = raw.split(',').map(Number);
    if (v.length === 0 || v.some((x) => !Number.isFinite(x) || x <= 0))
      throw new Error(`${name} must be a comma-separated list of positive numbers`);
    return v;
  }
  return process.env.BENCH_QUICK === '1' && quick !== undefined ? quick : fallback;
}
