// Which metrics a PromQL expression reads: the observability tests check each one the dashboard and the
// alert rules use exists in the code.
/** Metric names in a PromQL expression: label matchers, ranges, grouping clauses and functions removed. */
export function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const keywords = new Set([
    'by',
    'without',
    'on',
    'ignoring',
    'and',
    'or',
    'unless',
    'bool',
    'offset',
    'inf',
    'nan',
  ]);
  const names = new Set<string>();
  for (const m of bare.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\()?/g)) {
    const [, name, call] = m;
    if (!name || call || keywords.has(name.toLowerCase())) continue;
    names.add(name);
  }
  return [...names];
}
