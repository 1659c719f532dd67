// Charts drawn by the benchmark itself: a small line chart rasterised in memory and written as a PNG with
// node:zlib (no native dependency, works offline). One or more series of (x, y) points, optional log-y.
import { writeFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import font from './font5x7.json' with { type: 'json' };

// 5×7 glyphs (font5x7.json), one row per byte (low 5 bits, MSB = left column). Text is drawn upper-case.
const FONT: Record<string, number[]> = font;

const PALETTE: [number, number, number][] = [
  [31, 119, 180],
  [214, 39, 40],
  [44, 160, 44],
  [255, 127, 14],
  [148, 103, 189],
  [140, 86, 75],
];

export interface Series {
  name: string;
  points: { x: number; y: number }[];
}

export interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logY?: boolean;
  width?: number;
  height?: number;
}

export function renderChart(spec: ChartSpec): Buffer {
  const W = spec.width ?? 800;
  const H = spec.height ?? 480;
  const px = Buffer.alloc(W * H * 3, 255);
  const set = (x: number, y: number, c: [number, number, number]) => {
    if (x < 0 || y < 0 || x >= W || y >= H) return;
    const o = (Math.round(y) * W + Math.round(x)) * 3;
    px[o] = c[0];
    px[o + 1] = c[1];
    px[o + 2] = c[2];
  };
  const text = (s: string, x: number, y: number, c: [number, number, number] = [0, 0, 0], scale = 1) => {
    let cx = x;
    for (const ch of s.toUpperCase()) {
      const g = FONT[ch] ?? FONT[' ']!;
      for (let r = 0; r < 7; r++)
        for (let col = 0; col < 5; col++)
          if ((g[r]! >> (4 - col)) & 1)
            for (let a = 0; a < scale; a++)
              for (let b = 0; b < scale; b++) set(cx + col * scale + a, y + r * scale + b, c);
      cx += 6 * scale;
    }
  };
  const line = (x0: number, y0: number, x1: number, y1: number, c: [number, number, number], thick = 1) => {
    const n = Math.max(Math.abs(x1 - x0), Math.abs(y1 - y0), 1);
    for (let i = 0; i <= n; i++) {
      const x = x0 + ((x1 - x0) * i) / n;
      const y = y0 + ((y1 - y0) * i) / n;
      for (let a = -(thick >> 1); a <= thick >> 1; a++)
        for (let b = -(thick >> 1); b <= thick >> 1; b++) set(x + a, y + b, c);
    }
  };

  const L = 80,
    R = 20,
    T = 40,
    B = 60;
  const pts = spec.series
    .flatMap((s) => s.points)
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const xs = pts.map((p) => p.x);
  const ys = pts.map((p) => (spec.logY ? Math.log10(Math.max(p.y, 1e-3)) : p.y));
  const xMin = Math.min(0, ...xs);
  const xMax = Math.max(1e-9, ...xs) * 1.05;
  const yMin = spec.logY ? Math.floor(Math.min(...ys, 0)) : 0;
  const yMax = spec.logY ? Math.ceil(Math.max(...ys, yMin + 1)) : Math.max(1e-9, ...ys) * 1.1;
  const sx = (x: number) => L + ((x - xMin) / (xMax - xMin)) * (W - L - R);
  const sy = (y: number) => {
    const v = spec.logY ? Math.log10(Math.max(y, 1e-3)) : y;
    return H - B - ((v - yMin) / (yMax - yMin)) * (H - T - B);
  };
  const grey: [number, number, number] = [220, 220, 220];
  const fmt = (v: number) =>
    Math.abs(v) >= 1000 ? `${Number((v / 1000).toPrecision(3))}K` : `${Number(v.toPrecision(3))}`;
  for (let i = 0; i <= 5; i++) {
    const xv = xMin + ((xMax - xMin) * i) / 5;
    line(sx(xv), T, sx(xv), H - B, grey);
    text(fmt(xv), sx(xv) - 12, H - B + 8);
    const yv = spec.logY ? 10 ** (yMin + ((yMax - yMin) * i) / 5) : yMin + ((yMax - yMin) * i) / 5;
    line(L, sy(yv), W - R, sy(yv), grey);
    text(fmt(yv), 4, sy(yv) - 3);
  }
  line(L, H - B, W - R, H - B, [0, 0, 0]);
  line(L, T, L, H - B, [0, 0, 0]);
  text(spec.title, L, 12, [0, 0, 0], 2);
  text(spec.xLabel, L + (W - L - R) / 2 - spec.xLabel.length * 3, H - 22);
  text(spec.yLabel + (spec.logY ? ' (LOG)' : ''), 4, T - 14);
  spec.series.forEach((s, k) => {
    const c = PALETTE[k % PALETTE.length]!;
    const p = s.points.filter((q) => Number.isFinite(q.x) && Number.isFinite(q.y)).sort((a, b) => a.x - b.x);
    for (let i = 1; i < p.length; i++) line(sx(p[i - 1]!.x), sy(p[i - 1]!.y), sx(p[i]!.x), sy(p[i]!.y), c, 3);
    for (const q of p)
      for (let a = -3; a <= 3; a++) for (let b = -3; b <= 3; b++) set(sx(q.x) + a, sy(q.y) + b, c);
    const ly = T + 8 + k * 14;
    line(W - R - 200, ly + 3, W - R - 180, ly + 3, c, 3);
    text(s.name, W - R - 172, ly, c);
  });
  return encodePng(px, W, H);
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** RGB pixels → PNG (8-bit truecolour, no filter). */
export function encodePng(rgb: Buffer, w: number, h: number): Buffer {
  const raw = Buffer.alloc((w * 3 + 1) * h);
  for (let y = 0; y < h; y++) rgb.copy(raw, y * (w * 3 + 1) + 1, y * w * 3, (y + 1) * w * 3);
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8;
  ihdr[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export function writeChart(path: string, spec: ChartSpec): void {
  writeFileSync(path, renderChart(spec));
}
