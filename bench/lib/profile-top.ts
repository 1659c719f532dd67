// `node bench/lib/profile-top.ts <file.cpuprofile> [n]`: where a V8 CPU profile's time went, by function
// (self time) and by package (self time of everything under each node_modules package or our dist).
import { readFileSync } from 'node:fs';

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
const prof = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const n = Number(process.argv[3] ?? 30);
const self = new Map<number, number>();
for (const [i, id] of prof.samples.entries()) self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byFn = new Map<string, number>();
const byPkg = new Map<string, number>();
for (const node of prof.nodes) {
  const t = self.get(node.id) ?? 0;
  if (!t) continue;
  const { functionName, url, lineNumber } = node.callFrame;
  const short = url
    .replace(/^.*node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?/, '')
    .replace(/^file:\/\/.*\/(apps|packages)\//, '$1/');
  const k = `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
  byFn.set(k, (byFn.get(k) ?? 0) + t);
  const pkg = url.includes('node_modules')
    ? (/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ??
      'node_modules')
    : url.startsWith('node:') || url === ''
      ? functionName.startsWith('(')
        ? functionName
        : 'node internals'
      : (/(apps|packages)\/[^/]+/.exec(url)?.[0] ?? url);
  byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + t);
}
const show = (m: Map<string, number>, k: number) =>
  [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, k)
    .map(([name, t]) => `${((t / total) * 100).toFixed(1).padStart(5)}%  ${name}`)
    .join('\n');
console.log(
  `total ${(total / 1000).toFixed(0)} ms\n-- by package --\n${show(byPkg, 15)}\n-- by function --\n${show(byFn, n)}`,
);
