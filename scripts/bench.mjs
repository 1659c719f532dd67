// `pnpm bench [name…]`: runs the named benchmarks (relay, gateway, call, soak), or all of them.
// Each lives in its app's `bench` script and writes to bench/results/.
import { spawnSync } from 'node:child_process';

const benches = { relay: '@voip/signaling', gateway: '@voip/gateway', call: '@voip/call', soak: '@voip/faults' };
const wanted = process.argv.slice(2);
const names = wanted.length ? wanted : Object.keys(benches);
let failed = 0;
for (const name of names) {
  const pkg = benches[name];
  if (!pkg) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
    process.exit(2);
  }
  console.log(`\n== bench ${name} (${pkg}) ==`);
  const r = spawnSync('pnpm', ['--filter', pkg, 'run', 'bench'], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
