// Reads turbo's grouped test output and prints one line per package, then the overall count.
import { readFileSync } from 'node:fs';

const [file, seconds] = process.argv.slice(2);
// biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI colour codes
const text = readFileSync(file, 'utf8').replace(/\x1b\[[0-9;]*m/g, '');
const perPkg = new Map();
// The failing tests by name, each with the first line of its error: the end of the log is often all a
// CI page keeps, so the summary says which test failed and why, not only how many.
const failures = [];
let lastFailure = null;
for (const line of text.split('\n')) {
  const m = /^(@voip\/[\w-]+):test:\s+(.*)$/.exec(line);
  if (!m) continue;
  const [, pkg, rest] = m;
  const fail = /^\s*FAIL\s+(.*\.test\.ts.*)$/.exec(rest);
  if (fail) {
    lastFailure = { pkg, name: fail[1].trim(), error: '' };
    failures.push(lastFailure);
  } else if (lastFailure && !lastFailure.error && /^\s*[\w.]*(Error|error)\b.*:/.test(rest)) {
    lastFailure.error = rest.trim().slice(0, 300);
    lastFailure = null;
  }
  const entry = perPkg.get(pkg) ?? { files: '', tests: '' };
  if (/^\s*Test Files\s/.test(rest)) entry.files = rest.replace(/^\s*Test Files\s+/, '').trim();
  if (/^\s*Tests\s/.test(rest)) entry.tests = rest.replace(/^\s*Tests\s+/, '').trim();
  perPkg.set(pkg, entry);
}
let passed = 0;
let failed = 0;
let skipped = 0;
console.log('\nTest summary');
for (const [pkg, { files, tests }] of [...perPkg].sort()) {
  const n = (re) => Number(re.exec(tests)?.[1] ?? 0);
  const p = n(/(\d+) passed/);
  const f = n(/(\d+) failed/);
  const s = n(/(\d+) skipped/);
  passed += p;
  failed += f;
  skipped += s;
  const state = f > 0 || !tests ? 'FAIL' : 'ok  ';
  console.log(`  ${state} ${pkg.padEnd(20)} tests: ${tests || 'no result (crashed?)'}   files: ${files || '-'}`);
  if (!tests) failed += 1;
}
if (failures.length > 0) {
  console.log('\nFailed tests');
  const seen = new Set();
  for (const { pkg, name, error } of failures) {
    const key = `${pkg} ${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    console.log(`  ${pkg}  ${name}${error ? `\n      ${error}` : ''}`);
  }
}
console.log(`  (${seconds}s in all, set-up included)`);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || perPkg.size === 0 ? 1 : 0);
