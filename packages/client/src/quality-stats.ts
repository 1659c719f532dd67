// Call quality from RTCPeerConnection.getStats(): a pure reducer from two snapshots (the previous and
// the current sample) to a compact interval summary, and an aggregate over a call's intervals. No
// browser API here, so it runs under Node on recorded RTCStats-shaped fixtures (test/fixtures).

/** One RTCStats entry as getStats() reports it (only the fields read here are typed). */
export type RtcStat = { id: string; type: string; timestamp?: number } & Record<string, unknown>;

/** The entries of one getStats() call and when it was taken (ms, any monotonic clock). */
export interface StatsSnapshot {
  at: number;
  stats: RtcStat[];
}

export type CandidateType = 'host' | 'srflx' | 'prflx' | 'relay';
/** How the media reaches the peer: udp/tcp for direct paths, the relay's protocol for TURN. */
export type PathTransport = 'udp' | 'tcp' | 'tls';

export interface SelectedPath {
  local: CandidateType;
  remote: CandidateType;
  /** `direct` unless either end is a relay candidate. */
  kind: 'direct' | 'relay';
  /** The pair's protocol (the local candidate's: udp, or tcp for ICE-TCP). */
  transport: PathTransport;
  /** For a local relay candidate: how we reach TURN (RTCIceCandidateStats.relayProtocol). */
  relayProtocol?: PathTransport;
}

/** The four quality metrics, null where unknown: of one interval, or a call's averages or worst values. */
export interface QualityMetrics {
  /** Round trip on the selected pair (STUN consent checks), else from RTCP (remote-inbound-rtp). */
  rttMs: number | null;
  /** Inbound audio jitter (else video), ms. */
  jitterMs: number | null;
  /** Share of the packets we should have received in this interval that were lost. */
  lossInPct: number | null;
  /** The peer's view of our packets (remote-inbound-rtp fractionLost, max over streams). */
  lossOutPct: number | null;
}

/** Media rates (kbit/s) and frame counts: of one interval, or over a call. */
export interface MediaVolumes {
  audioInKbps: number;
  audioOutKbps: number;
  videoInKbps: number;
  videoOutKbps: number;
  framesDecoded: number;
  framesDropped: number;
}

/** One interval between two snapshots. Rates in kbit/s, times in ms, loss in percent (0-100). */
export interface QualityInterval extends QualityMetrics, MediaVolumes {
  durationMs: number;
  /** The bandwidth estimate for sending (availableOutgoingBitrate on the selected pair). */
  availableOutKbps: number | null;
  path: SelectedPath | null;
  /** Packets received so far (cumulative, all kinds): > 0 once media arrives. */
  packetsReceived: number;
}

const round = (n: number, digits = 1) => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function byId(stats: RtcStat[]): Map<string, RtcStat> {
  return new Map(stats.map((s) => [s.id, s]));
}

function kindOf(s: RtcStat): string {
  return String(s.kind ?? s.mediaType ?? '');
}

/** The selected candidate pair: the transport's selectedCandidatePairId, else a nominated succeeded pair. */
export function selectedPair(stats: RtcStat[]): RtcStat | undefined {
  const index = byId(stats);
  for (const s of stats) {
    if (s.type !== 'transport' || typeof s.selectedCandidatePairId !== 'string') continue;
    const pair = index.get(s.selectedCandidatePairId);
    if (pair) return pair;
  }
  return stats.find((s) => s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded');
}

const CANDIDATE_TYPES = new Set(['host', 'srflx', 'prflx', 'relay']);
const candidateType = (v: unknown): CandidateType =>
  (CANDIDATE_TYPES.has(String(v)) ? String(v) : 'host') as CandidateType;

export function selectedPath(stats: RtcStat[]): SelectedPath | null {
  const pair = selectedPair(stats);
  if (!pair) return null;
  const index = byId(stats);
  const local = index.get(String(pair.localCandidateId));
  const remote = index.get(String(pair.remoteCandidateId));
  if (!local || !remote) return null;
  const l = candidateType(local.candidateType);
  const r = candidateType(remote.candidateType);
  const relay = String(local.relayProtocol ?? '');
  const path: SelectedPath = {
    local: l,
    remote: r,
    kind: l === 'relay' || r === 'relay' ? 'relay' : 'direct',
    transport: local.protocol === 'tcp' ? 'tcp' : 'udp',
  };
  if (l === 'relay' && (relay === 'udp' || relay === 'tcp' || relay === 'tls')) path.relayProtocol = relay;
  return path;
}

/** Sums a counter over the entries of one type and kind. */
function total(stats: RtcStat[], type: string, kind: string | null, field: string): number {
  let sum = 0;
  for (const s of stats)
    if (s.type === type && (kind === null || kindOf(s) === kind)) sum += num(s[field]) ?? 0;
  return sum;
}

/** Counter growth between two snapshots; a counter that went back (a new stream) counts from zero. */
function delta(
  prev: RtcStat[] | undefined,
  curr: RtcStat[],
  type: string,
  kind: string | null,
  field: string,
) {
  const before = new Map((prev ?? []).filter((s) => s.type === type).map((s) => [s.id, num(s[field]) ?? 0]));
  let sum = 0;
  for (const s of curr) {
    if (s.type !== type || (kind !== null && kindOf(s) !== kind)) continue;
    const now = num(s[field]) ?? 0;
    const was = before.get(s.id) ?? 0;
    sum += now >= was ? now - was : now;
  }
  return sum;
}

/**
 * The interval from `prev` to `curr` (prev undefined: from the start of the connection). Pure: same
 * snapshots, same summary.
 */
export function summarizeInterval(prev: StatsSnapshot | undefined, curr: StatsSnapshot): QualityInterval {
  const p = prev?.stats;
  const c = curr.stats;
  const durationMs = Math.max(1, curr.at - (prev?.at ?? curr.at - 1000));
  const kbps = (bytes: number) => round((bytes * 8) / durationMs, 1); // bytes·8 / ms = kbit/s

  const pair = selectedPair(c);
  let rttMs: number | null = null;
  const pairRtt = num(pair?.currentRoundTripTime);
  if (pairRtt !== undefined) rttMs = round(pairRtt * 1000);
  else {
    const rtts = c.filter((s) => s.type === 'remote-inbound-rtp').flatMap((s) => num(s.roundTripTime) ?? []);
    if (rtts.length) rttMs = round((Math.max(...rtts) * 1000) as number);
  }

  const jitters = (kind: string) =>
    c.filter((s) => s.type === 'inbound-rtp' && kindOf(s) === kind).flatMap((s) => num(s.jitter) ?? []);
  const j = jitters('audio').length ? jitters('audio') : jitters('video');
  const jitterMs = j.length ? round(Math.max(...j) * 1000) : null;

  const received = delta(p, c, 'inbound-rtp', null, 'packetsReceived');
  const lost = Math.max(0, delta(p, c, 'inbound-rtp', null, 'packetsLost'));
  const lossInPct = received + lost > 0 ? round((100 * lost) / (received + lost), 2) : null;
  const fractions = c
    .filter((s) => s.type === 'remote-inbound-rtp')
    .flatMap((s) => num(s.fractionLost) ?? []);
  const lossOutPct = fractions.length ? round(100 * Math.max(...fractions), 2) : null;

  const available = num(pair?.availableOutgoingBitrate);
  return {
    durationMs,
    rttMs,
    jitterMs,
    lossInPct,
    lossOutPct,
    audioInKbps: kbps(delta(p, c, 'inbound-rtp', 'audio', 'bytesReceived')),
    audioOutKbps: kbps(delta(p, c, 'outbound-rtp', 'audio', 'bytesSent')),
    videoInKbps: kbps(delta(p, c, 'inbound-rtp', 'video', 'bytesReceived')),
    videoOutKbps: kbps(delta(p, c, 'outbound-rtp', 'video', 'bytesSent')),
    framesDecoded: delta(p, c, 'inbound-rtp', 'video', 'framesDecoded'),
    framesDropped: delta(p, c, 'inbound-rtp', 'video', 'framesDropped'),
    availableOutKbps: available === undefined ? null : round(available / 1000, 0),
    path: selectedPath(c),
    packetsReceived: total(c, 'inbound-rtp', null, 'packetsReceived'),
  };
}

/** Averages and the worst interval over a call (what the final summary carries). */
export interface QualityAggregate extends MediaVolumes {
  intervals: number;
  durationMs: number;
  avg: QualityMetrics;
  worst: QualityMetrics;
}

type Metric = keyof QualityMetrics;
const METRICS: Metric[] = ['rttMs', 'jitterMs', 'lossInPct', 'lossOutPct'];

/** Time-weighted averages of the intervals and the worst value of each metric. */
export function aggregate(intervals: QualityInterval[]): QualityAggregate {
  const durationMs = intervals.reduce((s, i) => s + i.durationMs, 0);
  const weighted = (pick: (i: QualityInterval) => number) =>
    durationMs > 0 ? round(intervals.reduce((s, i) => s + pick(i) * i.durationMs, 0) / durationMs) : 0;
  const avg = {} as QualityAggregate['avg'];
  const worst = {} as QualityAggregate['worst'];
  for (const m of METRICS) {
    const known = intervals.filter((i) => i[m] !== null);
    const d = known.reduce((s, i) => s + i.durationMs, 0);
    avg[m] = d > 0 ? round(known.reduce((s, i) => s + (i[m] as number) * i.durationMs, 0) / d, 2) : null;
    worst[m] = known.length ? Math.max(...known.map((i) => i[m] as number)) : null;
  }
  return {
    intervals: intervals.length,
    durationMs,
    avg,
    worst,
    audioInKbps: weighted((i) => i.audioInKbps),
    audioOutKbps: weighted((i) => i.audioOutKbps),
    videoInKbps: weighted((i) => i.videoInKbps),
    videoOutKbps: weighted((i) => i.videoOutKbps),
    framesDecoded: intervals.reduce((s, i) => s + i.framesDecoded, 0),
    framesDropped: intervals.reduce((s, i) => s + i.framesDropped, 0),
  };
}
