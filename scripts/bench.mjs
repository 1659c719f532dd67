// `pnpm bench [name…]`: builds what the benchmarks start, then runs the named scenarios of bench/ (all of
// them without a name). Scenarios, knobs and how to add one: bench/README.md.
import { spawnSync } from 'node:child_process';

const build = spawnSync('pnpm', ['turbo', 'run', 'build', '--output-logs=errors-only'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const r = spawnSync(process.execPath, ['bench/run.ts', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
