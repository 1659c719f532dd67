// docs/ARCHITECTURE.md walks a call through the code by file name: a renamed or deleted file must not
// leave the walk pointing at nothing.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../src/generate.js';

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sourceFiles(p, out);
    else if (e.name.endsWith('.ts')) out.push(relative(repoRoot(), p));
  }
  return out;
}

describe('docs/ARCHITECTURE.md', () => {
  it('names only files that exist', () => {
    const doc = readFileSync(join(repoRoot(), 'docs/ARCHITECTURE.md'), 'utf8');
    const named = [...doc.matchAll(/`([\w./-]+\.ts)`/g)].map((m) => m[1] ?? '');
    expect(named.length).toBeGreaterThan(20);
    const files = [...sourceFiles(join(repoRoot(), 'apps')), ...sourceFiles(join(repoRoot(), 'packages'))];
    const missing = named.filter((n) => !files.some((f) => f === n || f.endsWith(`/${n}`)));
    expect(missing).toEqual([]);
  });
});
