// Latency histograms (HdrHistogram, microsecond resolution, 3 significant digits) and the summary a
// result file keeps: count, p50/p90/p99/p99.9/max in ms.
import * as hdr from 'hdr-histogram-js';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  meanMs: number;
}

export function histogram() {
  const h = hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
  return {
    /** Records one latency given in ms. */
    record(ms: number) {
      h.recordValue(Math.max(1, Math.round(ms * 1000)));
    },
    get count() {
      return h.totalCount;
    },
    summary(): LatencySummary {
      const q = (p: number) => Number((h.getValueAtPercentile(p) / 1000).toFixed(3));
      return {
        count: h.totalCount,
        p50Ms: q(50),
        p90Ms: q(90),
        p99Ms: q(99),
        p999Ms: q(99.9),
        maxMs: Number((h.maxValue / 1000).toFixed(3)),
        meanMs: Number((h.mean / 1000).toFixed(3)),
      };
    },
    reset() {
      h.reset();
    },
  };
}

/** Median and spread (min, max) of repeated measurements. */
export function spread(xs: number[]): { median: number; min: number; max: number; runs: number[] } {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length ? (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2 : 0;
  const r = (v: number) => Number(v.toFixed(3));
  return { median: r(median), min: r(s[0] ?? 0), max: r(s[s.length - 1] ?? 0), runs: xs.map(r) };
}
