// `node lib/heap-diff.ts before.heapsnapshot after.heapsnapshot [perN]`: what grew between two heap
// snapshots, by node type and constructor/name (self sizes), optionally per N (e.g. per socket).
import { readFileSync } from 'node:fs';

type Snap = {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
};

function byKind(path: string): Map<string, { size: number; count: number }> {
  const s = JSON.parse(readFileSync(path, 'utf8')) as Snap;
  const f = s.snapshot.meta.node_fields;
  const w = f.length;
  const [iType, iName, iSize] = [f.indexOf('type'), f.indexOf('name'), f.indexOf('self_size')];
  const types = s.snapshot.meta.node_types[0];
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < s.nodes.length; i += w) {
    const type = types[s.nodes[i + iType]!]!;
    let name = s.strings[s.nodes[i + iName]!] ?? '';
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    if (type === 'code' || type === 'hidden') name = name.slice(0, 40);
    const k = `${type}:${name.slice(0, 60)}`;
    const e = out.get(k) ?? { size: 0, count: 0 };
    e.size += s.nodes[i + iSize]!;
    e.count++;
    out.set(k, e);
  }
  return out;
}

const [a, b] = [byKind(process.argv[2]!), byKind(process.argv[3]!)];
const per = Number(process.argv[4] ?? 1);
const rows = [...b.entries()].map(([k, v]) => {
  const o = a.get(k) ?? { size: 0, count: 0 };
  return { k, size: (v.size - o.size) / per, count: (v.count - o.count) / per };
});
rows.sort((x, y) => y.size - x.size);
const total = rows.reduce((s, r) => s + r.size, 0);
console.log(`total growth ${(total / 1024).toFixed(2)} KB${per > 1 ? ` per 1 of ${per}` : ''}`);
for (const r of rows.slice(0, 30))
  console.log(`${r.size.toFixed(0).padStart(8)} B  ${r.count.toFixed(2).padStart(7)}×  ${r.k}`);
