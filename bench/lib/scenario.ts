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

/** A scenario module ends with `export default defineScenario('<name>', '<title>', run);`. */
export function defineScenario(name: string, title: string, run: Scenario['run']): Scenario {
  return { name, title, run };
}

/** What a scenario starts and stops: servers, generators (`Proc`), Redis, Toxiproxy. */
export interface Stoppable {
  stop(): Promise<unknown>;
}

/**
 * A scenario's teardown: stops each in the order given, one after another; an array is stopped all at
 * once (a scenario's generator processes). A stop that fails does not leave the later ones running: the
 * first failure is thrown once every one has been stopped.
 */
export async function stopInOrder(...parts: (Stoppable | Stoppable[])[]): Promise<void> {
  const failures: unknown[] = [];
  const stop = (s: Stoppable) => s.stop().catch((e: unknown) => void failures.push(e));
  for (const p of parts) await (Array.isArray(p) ? Promise.all(p.map(stop)) : stop(p));
  if (failures.length) throw failures[0];
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
