// `pnpm docs:gen` writes the generated protocol documents; `--check` only compares them with what is
// committed and exits 1 naming the stale ones (the test suite does the same).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateDocs, repoRoot } from './generate.js';

const check = process.argv.includes('--check');
const root = repoRoot();
try {
  const files = await generateDocs(root);
  const stale: string[] = [];
  for (const f of files) {
    const target = join(root, f.path);
    let current: string | undefined;
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      current = undefined;
    }
    if (current === f.content) continue;
    if (check) stale.push(f.path);
    else {
      writeFileSync(target, f.content);
      process.stdout.write(`wrote ${f.path}\n`);
    }
  }
  if (stale.length > 0) {
    process.stderr.write(`out of date: ${stale.join(', ')} — run pnpm docs:gen and commit the result\n`);
    process.exit(1);
  }
} catch (err) {
  process.stderr.write(`docs-gen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
