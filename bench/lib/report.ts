// Result files and BENCHMARKS.md: each scenario's JSON (with the machine and the commit) in
// bench/results/, its charts next to it, and its section of BENCHMARKS.md between
// `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` (everything outside the markers is hand-written and kept).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeChart } from './png.ts';
import { repoDir } from './proc.ts';
import type { Scenario, ScenarioResult } from './scenario.ts';

export function machine() {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    kernel: release(),
    node: process.version,
    openFilesPerProcess: Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()),
    /** 1, 5 and 15 min load averages when the result was written: other work on the same cores. */
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
  };
}

export function commit(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      cwd: repoDir,
      encoding: 'utf8',
    }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'packages'], {
      cwd: repoDir,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${head}+changes` : head;
  } catch {
    return 'unknown';
  }
}

export const resultsDir = () => process.env.BENCH_RESULTS_DIR ?? join(repoDir, 'bench', 'results');

export function writeResult(s: Scenario, r: ScenarioResult, elapsedS: number): string {
  const dir = resultsDir();
  mkdirSync(dir, { recursive: true });
  const charts: string[] = [];
  for (const [file, spec] of Object.entries(r.charts ?? {})) {
    writeChart(join(dir, file), spec);
    charts.push(file);
  }
  const m = machine();
  const full = {
    scenario: s.name,
    title: s.title,
    at: new Date().toISOString(),
    commit: commit(),
    machine: m,
    elapsedS: Number(elapsedS.toFixed(1)),
    config: r.config,
    targets: r.targets,
    data: r.data,
    charts,
  };
  const file = join(dir, `${s.name}.json`);
  writeFileSync(file, `${JSON.stringify(full, null, 2)}\n`);
  if (process.env.BENCH_QUICK !== '1' && !process.env.BENCH_RESULTS_DIR)
    updateBenchmarksMd(s, r, full, charts);
  return file;
}

function updateBenchmarksMd(
  s: Scenario,
  r: ScenarioResult,
  full: { at: string; commit: string; machine: ReturnType<typeof machine>; elapsedS: number },
  charts: string[],
) {
  const path = join(repoDir, 'BENCHMARKS.md');
  let doc = existsSync(path) ? readFileSync(path, 'utf8') : '# Benchmarks\n';
  const m = full.machine;
  const targets = r.targets.length
    ? [
        '',
        '| target | goal | measured | met |',
        '| --- | --- | --- | :---: |',
        ...r.targets.map((t) => `| ${t.name} | ${t.target} | ${t.value} | ${t.met ? 'yes' : '**no**'} |`),
      ].join('\n')
    : '';
  const body = [
    `<!-- bench:${s.name} -->`,
    `_${full.at.slice(0, 16).replace('T', ' ')} UTC · commit \`${full.commit}\` · ${m.cores}× ${m.cpu} · ${m.memGiB} GiB · load ${m.loadAverage.join('/')} · Node ${m.node} · ${full.elapsedS} s · \`pnpm bench ${s.name}\` · [JSON](bench/results/${s.name}.json)_`,
    '',
    r.markdown.trim(),
    targets,
    ...charts.map((c) => `\n![${c}](bench/results/${c})`),
    `<!-- /bench:${s.name} -->`,
  ].join('\n');
  const re = new RegExp(`<!-- bench:${s.name} -->[\\s\\S]*?<!-- /bench:${s.name} -->`);
  doc = re.test(doc) ? doc.replace(re, body) : `${doc.trimEnd()}\n\n## ${s.name}: ${s.title}\n\n${body}\n`;
  writeFileSync(path, doc.endsWith('\n') ? doc : `${doc}\n`);
}
