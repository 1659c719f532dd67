// Draws infra/grafana/dashboards/voip.json as a static HTML page (inline SVG) from query results: the
// same panels, layout, PromQL, legends, units and thresholds, in Grafana's dark colours. Grafana itself
// is not packaged for Debian, so the preview is drawn here from the real series Prometheus returns.

export interface Series {
  labels: Record<string, string>;
  points: [number, number][];
}

export interface PanelTarget {
  expr: string;
  legendFormat?: string;
}
export interface Threshold {
  value: number | null;
  color: string;
}
export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  description?: string;
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: PanelTarget[];
  fieldConfig?: {
    defaults?: {
      unit?: string;
      min?: number;
      max?: number;
      decimals?: number;
      thresholds?: { steps: Threshold[] };
      mappings?: { type: string; options: Record<string, { text?: string; color?: string }> }[];
      custom?: { drawStyle?: string; stacking?: { mode?: string } };
    };
  };
}
export interface Dashboard {
  title: string;
  panels: DashboardPanel[];
}

/** Results per panel id, one list of series per target (same order as `targets`). */
export type PanelData = Map<number, Series[][]>;

const PALETTE = [
  '#73BF69',
  '#F2CC0C',
  '#8AB8FF',
  '#FF780A',
  '#F2495C',
  '#5794F2',
  '#B877D9',
  '#FADE2A',
  '#37872D',
  '#C4162A',
  '#1F60C4',
  '#8F3BB8',
];
const NAMED: Record<string, string> = {
  green: '#73BF69',
  red: '#F2495C',
  orange: '#FF9830',
  blue: '#5794F2',
  yellow: '#FADE2A',
  purple: '#B877D9',
};
const colour = (c: string) => NAMED[c] ?? c;
const COL = 1600 / 24;
const ROW = 36;
const GAP = 6;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function legend(format: string | undefined, labels: Record<string, string>): string {
  if (!format)
    return (
      Object.entries(labels)
        .map(([k, v]) => `${k}="${v}"`)
        .join(', ') || 'value'
    );
  return format.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, k: string) => labels[k] ?? '').trim();
}

export function formatValue(v: number, unit = 'short', decimals?: number): string {
  if (!Number.isFinite(v)) return '–';
  const fixed = (x: number, d: number) =>
    x
      .toFixed(decimals ?? d)
      .replace(/(\.\d*?)0+$/, '$1')
      .replace(/\.$/, '');
  switch (unit) {
    case 's':
      if (v === 0) return '0';
      if (Math.abs(v) < 1) return `${fixed(v * 1000, v * 1000 < 10 ? 1 : 0)} ms`;
      return `${fixed(v, 2)} s`;
    case 'reqps':
      return `${fixed(v, v < 10 ? 2 : 0)} req/s`;
    case 'ops':
      return `${fixed(v, v < 10 ? 2 : 0)} ops/s`;
    default:
      if (Math.abs(v) >= 1000) return `${fixed(v / 1000, 1)}k`;
      return fixed(v, Number.isInteger(v) ? 0 : 2);
  }
}

function thresholdColour(v: number, steps: Threshold[] | undefined, fallback: string): string {
  if (!steps?.length) return fallback;
  let c = steps[0]!.color;
  for (const s of steps) if (s.value === null || v >= s.value) c = s.color;
  return colour(c);
}

function niceTicks(min: number, max: number, count = 4): number[] {
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step)
    ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

const hhmm = (t: number) => new Date(t * 1000).toISOString().slice(11, 16);

/** How a panel draws its queries' series into a w×h box over the time range. */
type PanelRenderer = (
  p: DashboardPanel,
  data: Series[][],
  w: number,
  h: number,
  range: [number, number],
) => string;

/** Every series of every query of the panel, named by the query's legend. */
const panelSeries = (p: DashboardPanel, data: Series[][]) =>
  data.flatMap((series, ti) =>
    series.map((s) => ({ name: legend(p.targets?.[ti]?.legendFormat, s.labels), points: s.points })),
  );

const timeseries: PanelRenderer = (p, data, w, h, range) => {
  const d = p.fieldConfig?.defaults ?? {};
  const unit = d.unit ?? 'short';
  const stacked = d.custom?.stacking?.mode === 'normal';
  const bars = d.custom?.drawStyle === 'bars';
  const lines = panelSeries(p, data);
  lines.sort((a, b) => a.name.localeCompare(b.name));
  const legendRows = Math.min(3, Math.ceil(lines.length / 3));
  const plot = { x: 72, y: 8, w: w - 86, h: h - 34 - legendRows * 16 };
  if (lines.length === 0) return noData(w, h);
  const [t0, t1] = range;
  // Stacking: cumulative sums at each timestamp, in legend order.
  const stacks = new Map<number, number>();
  const drawn = lines.map((l) => {
    const pts = l.points.map(([t, v]) => {
      const base = stacked ? (stacks.get(t) ?? 0) : 0;
      const top = base + v;
      if (stacked) stacks.set(t, top);
      return { t, base, top };
    });
    return { ...l, pts };
  });
  const values = drawn.flatMap((l) => l.pts.flatMap((q) => [q.top, q.base]));
  let lo = d.min ?? Math.min(...values);
  let hi = d.max ?? Math.max(...values);
  if (hi - lo < 1e-9) hi = lo + (unit === 's' ? 0.01 : 1);
  const ticks = niceTicks(lo, hi);
  hi = Math.max(hi, ticks.at(-1) ?? hi);
  lo = Math.min(lo, ticks[0] ?? lo);
  const X = (t: number) => plot.x + ((t - t0) / (t1 - t0)) * plot.w;
  const Y = (v: number) => plot.y + plot.h - ((v - lo) / (hi - lo)) * plot.h;
  const out: string[] = [];
  for (const t of ticks)
    out.push(
      `<line x1="${plot.x}" x2="${plot.x + plot.w}" y1="${Y(t)}" y2="${Y(t)}" class="grid"/><text x="${plot.x - 6}" y="${Y(t) + 4}" class="axis" text-anchor="end">${esc(formatValue(t, unit, d.decimals))}</text>`,
    );
  const span = t1 - t0;
  const tstep = [60, 120, 300, 600, 900, 1800, 3600].find((s) => span / s <= 6) ?? 3600;
  for (let t = Math.ceil(t0 / tstep) * tstep; t <= t1; t += tstep)
    out.push(
      `<text x="${X(t)}" y="${plot.y + plot.h + 14}" class="axis" text-anchor="middle">${hhmm(t)}</text>`,
    );
  drawn.forEach((l, i) => {
    const c = PALETTE[i % PALETTE.length]!;
    if (bars) {
      const step = l.pts.length > 1 ? l.pts[1]!.t - l.pts[0]!.t : 15;
      const bw = Math.max(1.5, (plot.w / Math.max(1, (t1 - t0) / step)) * 0.7);
      for (const q of l.pts)
        if (q.top !== q.base)
          out.push(
            `<rect x="${X(q.t) - bw / 2}" y="${Y(q.top)}" width="${bw}" height="${Math.max(0.5, Y(q.base) - Y(q.top))}" fill="${c}" fill-opacity="0.85"/>`,
          );
      return;
    }
    // Break the line where samples are missing (more than three steps apart).
    const segs: (typeof l.pts)[] = [];
    let cur: typeof l.pts = [];
    for (const q of l.pts) {
      const prev = cur.at(-1);
      if (prev && q.t - prev.t > 16) {
        segs.push(cur);
        cur = [];
      }
      cur.push(q);
    }
    if (cur.length) segs.push(cur);
    for (const s of segs) {
      const top = s.map((q) => `${X(q.t).toFixed(1)},${Y(q.top).toFixed(1)}`).join(' ');
      const base = [...s]
        .reverse()
        .map((q) => `${X(q.t).toFixed(1)},${Y(q.base).toFixed(1)}`)
        .join(' ');
      out.push(
        `<polygon points="${top} ${base}" fill="${c}" fill-opacity="${stacked ? 0.35 : 0.1}" stroke="none"/>`,
      );
      out.push(`<polyline points="${top}" fill="none" stroke="${c}" stroke-width="1.6"/>`);
    }
  });
  const legendY = plot.y + plot.h + 30;
  drawn.slice(0, 9).forEach((l, i) => {
    const x = plot.x + (i % 3) * (plot.w / 3);
    const y = legendY + Math.floor(i / 3) * 16;
    const last = l.points.at(-1)?.[1];
    const text = `${l.name}${last !== undefined ? `  ${formatValue(last, unit, d.decimals)}` : ''}`;
    out.push(
      `<rect x="${x}" y="${y - 8}" width="12" height="4" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 16}" y="${y - 3}" class="legend">${esc(text.length > 52 ? `${text.slice(0, 50)}…` : text)}</text>`,
    );
  });
  if (drawn.length > 9)
    out.push(
      `<text x="${plot.x + plot.w}" y="${legendY + 45}" class="legend" text-anchor="end">+${drawn.length - 9} more</text>`,
    );
  return `<svg width="${w}" height="${h}">${out.join('')}</svg>`;
};

const stat: PanelRenderer = (p, data, w, h, range) => {
  const d = p.fieldConfig?.defaults ?? {};
  const s = data[0]?.[0];
  const last = s?.points.at(-1)?.[1];
  if (!s || last === undefined) return noData(w, h);
  const c = thresholdColour(last, d.thresholds?.steps, '#8AB8FF');
  const [t0, t1] = range;
  const vals = s.points.map(([, v]) => v);
  const lo = Math.min(...vals);
  const hi = Math.max(...vals, lo + 1e-9);
  const spark = s.points
    .map(
      ([t, v]) =>
        `${(((t - t0) / (t1 - t0)) * w).toFixed(1)},${(h - 4 - ((v - lo) / (hi - lo)) * (h * 0.45)).toFixed(1)}`,
    )
    .join(' ');
  return `<svg width="${w}" height="${h}"><polyline points="${spark}" fill="none" stroke="${c}" stroke-opacity="0.45" stroke-width="2"/><text x="${w / 2}" y="${h * 0.55}" class="stat" fill="${c}" text-anchor="middle">${esc(formatValue(last, d.unit, d.decimals))}</text></svg>`;
};

const stateTimeline: PanelRenderer = (p, data, w, h, range) => {
  const d = p.fieldConfig?.defaults ?? {};
  const rows = panelSeries(p, data);
  if (rows.length === 0) return noData(w, h);
  rows.sort((a, b) => a.name.localeCompare(b.name));
  const mapping = d.mappings?.[0]?.options ?? {};
  const [t0, t1] = range;
  const left = 120;
  const rh = Math.min(22, (h - 26) / rows.length);
  const X = (t: number) => left + ((t - t0) / (t1 - t0)) * (w - left - 10);
  const out: string[] = [];
  rows.forEach((r, i) => {
    const y = 4 + i * rh;
    out.push(
      `<text x="${left - 6}" y="${y + rh * 0.7}" class="axis" text-anchor="end">${esc(r.name)}</text>`,
    );
    out.push(`<rect x="${left}" y="${y + 1}" width="${w - left - 10}" height="${rh - 3}" fill="#2c3235"/>`);
    for (let k = 0; k < r.points.length; k++) {
      const [t, v] = r.points[k]!;
      const next = r.points[k + 1]?.[0];
      const end = next !== undefined && next - t <= 16 ? next : t + 5;
      const m = mapping[String(v)];
      const c = colour(m?.color ?? thresholdColour(v, d.thresholds?.steps, '#73BF69'));
      out.push(
        `<rect x="${X(t).toFixed(1)}" y="${y + 1}" width="${Math.max(0.5, X(end) - X(t) + 0.6).toFixed(1)}" height="${rh - 3}" fill="${c}"/>`,
      );
    }
  });
  const y = 4 + rows.length * rh + 14;
  out.push(
    `<text x="${left}" y="${y}" class="axis">${hhmm(t0)}</text><text x="${w - 10}" y="${y}" class="axis" text-anchor="end">${hhmm(t1)}</text>`,
  );
  const legendItems = Object.values(mapping).map(
    (m) => `<tspan fill="${colour(m.color ?? '#ccc')}">■</tspan> ${esc(m.text ?? '')}`,
  );
  out.push(
    `<text x="${w / 2}" y="${y}" class="legend" text-anchor="middle">${legendItems.join('   ')}   <tspan fill="#2c3235">■</tspan> no data</text>`,
  );
  return `<svg width="${w}" height="${h}">${out.join('')}</svg>`;
};

function noData(w: number, h: number): string {
  return `<svg width="${w}" height="${h}"><text x="${w / 2}" y="${h / 2}" class="nodata" text-anchor="middle">No data</text></svg>`;
}

export interface RenderOptions {
  range: [number, number];
  /** Lines under the title: where the numbers came from. */
  caption: string;
}

export function renderDashboard(
  dashboard: Dashboard,
  data: PanelData,
  opts: RenderOptions,
): { html: string; height: number } {
  const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
  const top = 64;
  const height = top + bottom * ROW + 16;
  const panels = dashboard.panels.map((p) => {
    const { x, y, w, h } = p.gridPos;
    const px = x * COL + GAP / 2;
    const py = top + y * ROW + GAP / 2;
    const pw = w * COL - GAP;
    const ph = h * ROW - GAP;
    const series = data.get(p.id) ?? [];
    const body =
      p.type === 'stat'
        ? stat(p, series, pw - 16, ph - 34, opts.range)
        : p.type === 'state-timeline'
          ? stateTimeline(p, series, pw - 16, ph - 34, opts.range)
          : timeseries(p, series, pw - 16, ph - 34, opts.range);
    return `<div class="panel" style="left:${px}px;top:${py}px;width:${pw}px;height:${ph}px"><div class="title">${esc(p.title)}</div>${body}</div>`;
  });
  const html = `<!doctype html><html><head><meta charset="utf-8"><style>
body{margin:0;background:#111217;font-family:Inter,"DejaVu Sans",Arial,sans-serif;color:#ccccdc;width:1600px;height:${height}px;position:relative;overflow:hidden}
.head{position:absolute;left:10px;top:8px;right:10px}
.head h1{font-size:20px;font-weight:500;margin:0 0 4px 0;color:#d8d9da}
.head p{font-size:12px;margin:0;color:#8e8e9e}
.panel{position:absolute;background:#181b1f;border:1px solid #2c3235;border-radius:3px;box-sizing:border-box;padding:6px 8px}
.title{font-size:13px;font-weight:500;color:#d8d9da;height:22px;white-space:nowrap;overflow:hidden}
.grid{stroke:#2c3235;stroke-width:1}
.axis{font-size:10.5px;fill:#9fa7b3}
.legend{font-size:11px;fill:#ccccdc}
.stat{font-size:34px;font-weight:500}
.nodata{font-size:14px;fill:#8e8e9e}
</style></head><body><div class="head"><h1>${esc(dashboard.title)}</h1><p>${esc(opts.caption)}</p></div>${panels.join('')}</body></html>`;
  return { html, height };
}
