// Per-side call quality (issue 19): folding one `call-quality` summary into the side's running aggregate
// stored on the call record, and the view of it that GET /api/calls/:id shows. Pure functions, no I/O.
//
// Averages are weighted by each interval's length (a 10 s interval counts twice a 5 s one); "worst" is the
// worst single interval (highest rtt, jitter and loss, lowest MOS). MOS is estimated per interval from that
// interval's rtt, jitter and received loss with the simplified ITU-T G.107 E-model (estimateMos in
// @voip/contracts/quality, where the formula is written out), then averaged like the rest.
import {
  type CallQualityPayload,
  estimateMos,
  POOR_MOS,
  type QualitySide,
  type QualityStep,
} from '@voip/contracts/quality';

export type Side = 'caller' | 'callee';
const STATS = ['rttMs', 'jitterMs', 'packetLossInPct', 'packetLossOutPct', 'mos'] as const;
const RATES = ['audioIn', 'audioOut', 'videoIn', 'videoOut'] as const;
type Stat = (typeof STATS)[number];
type Rate = (typeof RATES)[number];
/** Sum of value × weight, and the weight (ms) of the intervals that had the value. */
type Sum = [number, number];

/** What the call record stores per side (internal; QualitySide is its public view). */
export interface QualityAcc {
  /** Bumped by every write: the compare-and-set version across call-service instances. */
  rev: number;
  clientId: string;
  lastSeq: number;
  samples: number;
  coveredMs: number;
  final: boolean;
  /** Counted in the per-side metrics already (at its final summary or at the call's end). */
  counted: boolean;
  sums: Record<Stat | Rate, Sum>;
  worst: Record<Stat, number | null>;
  framesDecoded: number | null;
  framesDropped: number | null;
  path: 'direct' | 'relay' | null;
  relayProtocol: 'udp' | 'tcp' | 'tls' | null;
  timeToMediaMs: number | null;
  step: QualityStep | null;
  stepChanges: number;
  updatedAt: string;
}

/** The figures of one interval, for the per-interval metrics. */
export interface IntervalFigures {
  mos: number | null;
  rttMs: number | null;
  jitterMs: number | null;
  lossPct: number | null;
}

const emptyAcc = (clientId: string): QualityAcc => ({
  rev: 0,
  clientId,
  lastSeq: -1,
  samples: 0,
  coveredMs: 0,
  final: false,
  counted: false,
  sums: Object.fromEntries([...STATS, ...RATES].map((k) => [k, [0, 0]])) as QualityAcc['sums'],
  worst: { rttMs: null, jitterMs: null, packetLossInPct: null, packetLossOutPct: null, mos: null },
  framesDecoded: null,
  framesDropped: null,
  path: null,
  relayProtocol: null,
  timeToMediaMs: null,
  step: null,
  stepChanges: 0,
  updatedAt: new Date(0).toISOString(),
});

export function intervalFigures(s: CallQualityPayload): IntervalFigures {
  return {
    mos: estimateMos({ rttMs: s.rttMs, jitterMs: s.jitterMs, lossPct: s.packetLossInPct }),
    rttMs: s.rttMs ?? null,
    jitterMs: s.jitterMs ?? null,
    lossPct: s.packetLossInPct ?? null,
  };
}

/**
 * The side's aggregate with `s` folded in, or null when `s` is not new: a seq at or under the last one
 * from the same device (a re-delivered stream entry, a retried emit). A summary from another device of
 * the same side (the call moved) starts that device's seq afresh but keeps the aggregate.
 */
export function fold(
  prev: QualityAcc | undefined,
  s: CallQualityPayload,
  clientId: string,
  receivedAt: string,
): QualityAcc | null {
  const acc = structuredClone(prev ?? emptyAcc(clientId));
  if (prev && prev.clientId === clientId && s.seq <= prev.lastSeq) return null;
  const f = intervalFigures(s);
  const w = s.intervalMs;
  const values: Record<Stat, number | null> = {
    rttMs: f.rttMs,
    jitterMs: f.jitterMs,
    packetLossInPct: f.lossPct,
    packetLossOutPct: s.packetLossOutPct ?? null,
    mos: f.mos,
  };
  for (const k of STATS) {
    const v = values[k];
    if (v === null) continue;
    acc.sums[k] = [acc.sums[k][0] + v * w, acc.sums[k][1] + w];
    const worst = acc.worst[k];
    acc.worst[k] = worst === null ? v : k === 'mos' ? Math.min(worst, v) : Math.max(worst, v);
  }
  for (const k of RATES) {
    const v = s.bitrateKbps?.[k];
    if (v !== undefined) acc.sums[k] = [acc.sums[k][0] + v * w, acc.sums[k][1] + w];
  }
  if (s.framesDecoded !== undefined) acc.framesDecoded = (acc.framesDecoded ?? 0) + s.framesDecoded;
  if (s.framesDropped !== undefined) acc.framesDropped = (acc.framesDropped ?? 0) + s.framesDropped;
  if (s.path) {
    // Relayed when either end of the selected pair is a TURN relay candidate.
    const relayed = s.path.local === 'relay' || s.path.remote === 'relay';
    acc.path = relayed ? 'relay' : 'direct';
    acc.relayProtocol = relayed ? (s.path.relayProtocol ?? s.path.transport) : null;
  }
  if (s.timeToMediaMs !== undefined && acc.timeToMediaMs === null) acc.timeToMediaMs = s.timeToMediaMs;
  if (s.step !== undefined) {
    if (acc.step !== null && acc.step !== s.step) acc.stepChanges += 1;
    acc.step = s.step;
  }
  acc.rev += 1;
  acc.clientId = clientId;
  acc.lastSeq = s.seq;
  acc.samples += 1;
  acc.coveredMs += w;
  acc.final ||= s.final === true;
  acc.updatedAt = receivedAt;
  return acc;
}

const avg = ([sum, w]: Sum): number | null => (w > 0 ? Math.round((sum / w) * 100) / 100 : null);

/** The side's average MOS, null when no interval had the figures for one. */
export const sideMos = (acc: QualityAcc): number | null => avg(acc.sums.mos);
export const isPoor = (acc: QualityAcc): boolean => {
  const mos = sideMos(acc);
  return mos !== null && mos < POOR_MOS;
};

export function toQualitySide(acc: QualityAcc): QualitySide {
  return {
    samples: acc.samples,
    coveredMs: acc.coveredMs,
    final: acc.final,
    avg: Object.fromEntries(STATS.map((k) => [k, avg(acc.sums[k])])) as QualitySide['avg'],
    worst: { ...acc.worst },
    bitrateKbps: Object.fromEntries(RATES.map((k) => [k, avg(acc.sums[k])])) as QualitySide['bitrateKbps'],
    framesDecoded: acc.framesDecoded,
    framesDropped: acc.framesDropped,
    path: acc.path,
    relayProtocol: acc.relayProtocol,
    timeToMediaMs: acc.timeToMediaMs,
    step: acc.step,
    stepChanges: acc.stepChanges,
    poor: isPoor(acc),
    updatedAt: acc.updatedAt,
  };
}
