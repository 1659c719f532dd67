// `pnpm bench [name…]`: runs the named scenarios (all of them without a name), one after another, each
// writing bench/results/<name>.json, its charts and its section of BENCHMARKS.md. Knobs: README.md.
import { writeResult } from './lib/report.ts';
import type { RunContext } from './lib/scenario.ts';
import { scenarios } from './scenarios/index.ts';

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const names = wanted.length ? wanted : Object.keys(scenarios);
for (const n of names)
  if (!(n in scenarios)) {
    console.error(`unknown scenario "${n}"; known: ${Object.keys(scenarios).join(', ')}`);
    process.exit(2);
  }

const quick = process.env.BENCH_QUICK === '1';
const ctx: RunContext = {
  quick,
  // Three repetitions at least by default; BENCH_REPS=1 only for a quick look while developing.
  reps: Math.max(1, Number(process.env.BENCH_REPS ?? (quick ? 1 : 3))),
  log: (m) => console.log(`  ${new Date().toISOString().slice(11, 19)} ${m}`),
};
let failed = 0;
for (const name of names) {
  const s = (await scenarios[name as keyof typeof scenarios]()).default;
  console.log(`\n== bench ${name}: ${s.title} ==`);
  const t0 = performance.now();
  try {
    const r = await s.run(ctx);
    const file = writeResult(s, r, (performance.now() - t0) / 1000);
    console.log(r.markdown.trim());
    for (const t of r.targets)
      console.log(`  target ${t.met ? 'MET ' : 'MISS'} ${t.name}: ${t.value} (goal ${t.target})`);
    console.log(`  → ${file}`);
  } catch (err) {
    failed++;
    console.error(`bench ${name} failed:`, err);
  }
}
process.exit(failed ? 1 : 0);
