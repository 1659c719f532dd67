// The folders' import direction (README "Layout"): connections/ may call into calls/ and devices/, never
// the other way, and no file imports itself back through others (a cycle is how shared mutable state crept
// in before: a call map exported by connections/ and changed from calls/).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');

function imports(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) {
        const deps = [...readFileSync(p, 'utf8').matchAll(/from '(\.[^']+)'/g)].map((m) =>
          relative(src, normalize(join(dirname(p), (m[1] ?? '').replace(/\.js$/, '.ts')))),
        );
        graph.set(relative(src, p), deps);
      }
    }
  };
  walk(src);
  return graph;
}

describe('source layout', () => {
  const graph = imports();

  it('calls/ and devices/ never import connections/', () => {
    const wrong = [...graph].flatMap(([file, deps]) =>
      /^(calls|devices)\//.test(file)
        ? deps.filter((d) => d.startsWith('connections/')).map((d) => `${file} -> ${d}`)
        : [],
    );
    expect(wrong).toEqual([]);
  });

  it('has no import cycle', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      state.set(file, 'open');
      for (const dep of graph.get(file) ?? []) {
        if (state.get(dep) === 'open') cycles.push([...path.slice(path.indexOf(dep)), dep].join(' -> '));
        else if (!state.has(dep)) visit(dep, [...path, dep]);
      }
      state.set(file, 'done');
    };
    for (const file of graph.keys()) if (!state.has(file)) visit(file, [file]);
    expect(cycles).toEqual([]);
  });
});
