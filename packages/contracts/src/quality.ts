// Call quality (issue 19): the compact media-statistics summary a client sends over the socket during a
// call (`call-quality`), what signaling tells the peer (`peer-quality`), and the per-side summary the
// call's history record carries (GET /api/calls/:id, the operator's worst-calls route). Every number is
// bounded: a summary is a stranger's input and ends up in metrics and in MongoDB.
import { type Static, Type } from '@sinclair/typebox';
import { Id, IsoDateTime, Nullable, OneOf } from './common.js';

/** Sending steps of the SDK's adaptation, best first. */
export const QualityStep = OneOf('1080p', '720p', '480p', 'audio-only');
export type QualityStep = Static<typeof QualityStep>;
/** ICE candidate types (RTCIceCandidateType). */
export const CandidateType = OneOf('host', 'srflx', 'prflx', 'relay');
export type CandidateType = Static<typeof CandidateType>;
export const TransportProtocol = OneOf('udp', 'tcp', 'tls');
export type TransportProtocol = Static<typeof TransportProtocol>;

const Ms = Type.Number({ minimum: 0, maximum: 600_000 });
const Pct = Type.Number({ minimum: 0, maximum: 100 });
const Kbps = Type.Number({ minimum: 0, maximum: 1_000_000 });
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

/** Bitrates over the interval, kbit/s; a kind absent from the call is left out. */
export const QualityBitrates = Type.Object(
  {
    audioIn: Type.Optional(Kbps),
    audioOut: Type.Optional(Kbps),
    videoIn: Type.Optional(Kbps),
    videoOut: Type.Optional(Kbps),
  },
  { additionalProperties: false },
);
/** The selected ICE candidate pair. `relayProtocol`: how a local relay candidate reaches TURN. */
export const QualityPath = Type.Object(
  {
    local: CandidateType,
    remote: CandidateType,
    transport: TransportProtocol,
    relayProtocol: Type.Optional(TransportProtocol),
  },
  { additionalProperties: false },
);
export type QualityPath = Static<typeof QualityPath>;

/**
 * `call-quality`: one interval's summary from one device of a participant. `seq` increases per call and
 * device (a repeat or older seq is acknowledged and ignored); `final: true` is the last one (hang-up).
 * Every measurement is optional: a browser that has not measured it yet leaves it out.
 */
export const CallQualityPayload = Type.Object(
  {
    callId: Id,
    seq: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    final: Type.Optional(Type.Boolean()),
    /** Length of the interval this summary covers. */
    intervalMs: Type.Integer({ minimum: 100, maximum: 600_000 }),
    rttMs: Type.Optional(Ms),
    jitterMs: Type.Optional(Ms),
    /** Received packets lost (in) and sent packets the peer reported lost (out), percent. */
    packetLossInPct: Type.Optional(Pct),
    packetLossOutPct: Type.Optional(Pct),
    bitrateKbps: Type.Optional(QualityBitrates),
    framesDecoded: Type.Optional(Count),
    framesDropped: Type.Optional(Count),
    path: Type.Optional(QualityPath),
    /** From `call-accepted` (caller) or accepting (callee) to the first media packet received. */
    timeToMediaMs: Type.Optional(Ms),
    /** The sending step the device is at now. */
    step: Type.Optional(QualityStep),
  },
  { additionalProperties: false },
);
export type CallQualityPayload = Static<typeof CallQualityPayload>;

/**
 * `peer-quality`, server → the other participant's devices: sent when the sender's step changes or its
 * connection becomes poor or recovers. `poor`: the interval's estimated MOS is under POOR_MOS.
 */
export const PeerQualityEvent = Type.Object(
  {
    callId: Id,
    step: Nullable(QualityStep),
    poor: Type.Boolean(),
  },
  { additionalProperties: false },
);
export type PeerQualityEvent = Static<typeof PeerQualityEvent>;

/** Under this estimated MOS an interval (and a call side whose average is under it) counts as poor. */
export const POOR_MOS = 3.1;

/** Averages (weighted by interval length) and worst interval values of one side. */
const Stats = Type.Object(
  {
    rttMs: Nullable(Type.Number()),
    jitterMs: Nullable(Type.Number()),
    packetLossInPct: Nullable(Type.Number()),
    packetLossOutPct: Nullable(Type.Number()),
    mos: Nullable(Type.Number()),
  },
  { additionalProperties: false },
);
export const QualitySide = Type.Object(
  {
    samples: Type.Integer({ minimum: 0 }),
    /** Milliseconds of call the samples cover. */
    coveredMs: Type.Integer({ minimum: 0 }),
    final: Type.Boolean(),
    avg: Stats,
    /** Worst interval: highest rtt/jitter/loss, lowest MOS. */
    worst: Stats,
    bitrateKbps: Type.Object(
      {
        audioIn: Nullable(Type.Number()),
        audioOut: Nullable(Type.Number()),
        videoIn: Nullable(Type.Number()),
        videoOut: Nullable(Type.Number()),
      },
      { additionalProperties: false },
    ),
    framesDecoded: Nullable(Type.Integer()),
    framesDropped: Nullable(Type.Integer()),
    /** `relay`: either end of the selected pair is a TURN relay candidate. */
    path: Type.Union([Type.Literal('direct'), Type.Literal('relay'), Type.Null()]),
    /** For a relayed path: TURN over udp, tcp or tls. */
    relayProtocol: Nullable(TransportProtocol),
    timeToMediaMs: Nullable(Type.Number()),
    step: Nullable(QualityStep),
    stepChanges: Type.Integer({ minimum: 0 }),
    poor: Type.Boolean(),
    updatedAt: IsoDateTime,
  },
  { additionalProperties: false },
);
export type QualitySide = Static<typeof QualitySide>;
/** On the call record: one summary per participant side, absent until that side sent one. */
export const CallQuality = Type.Object(
  { caller: Type.Optional(QualitySide), callee: Type.Optional(QualitySide) },
  { additionalProperties: false },
);
export type CallQuality = Static<typeof CallQuality>;

/** Operator route: the worst calls (lowest MOS of either side) that started in [from, to). */
export const WorstCallsQuery = Type.Object(
  {
    from: IsoDateTime,
    to: Type.Optional(IsoDateTime),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200 })),
  },
  { additionalProperties: false },
);
export type WorstCallsQuery = Static<typeof WorstCallsQuery>;
export const WorstCallItem = Type.Object(
  {
    callId: Id,
    callerId: Id,
    calleeId: Id,
    createdAt: IsoDateTime,
    durationMs: Nullable(Type.Integer({ minimum: 0 })),
    /** The lower of the two sides' average MOS. */
    mos: Type.Number(),
    quality: CallQuality,
  },
  { additionalProperties: false },
);
export const WorstCallsResponse = Type.Object(
  { items: Type.Array(WorstCallItem) },
  { additionalProperties: false },
);
export type WorstCallsResponse = Static<typeof WorstCallsResponse>;

/**
 * Estimated MOS of an audio interval, from the ITU-T G.107 E-model in its common simplified form
 * (Cole & Rosenbluth, "Voice over IP performance monitoring", 2001, as used by most VoIP monitors):
 *   effective latency d = rtt / 2 + 2 * jitter + 10 ms (codec)
 *   R = 93.2 - Id - Ie, with Id = d / 40 when d < 160 ms, else (d - 120) / 10, and Ie = 2.5 * loss %
 *   MOS = 1 + 0.035 R + 7e-6 R (R - 60) (100 - R), 1 under R = 0 and 4.5 over R = 100 (G.107 Annex B).
 * It ignores the codec's own impairment (Ie of Opus at good bitrates is near 0), so it is an estimate for
 * trends and comparisons, not an absolute score. null when none of rtt, jitter and loss was measured.
 */
export function estimateMos(m: {
  rttMs?: number | null;
  jitterMs?: number | null;
  lossPct?: number | null;
}): number | null {
  if (m.rttMs == null && m.jitterMs == null && m.lossPct == null) return null;
  const d = (m.rttMs ?? 0) / 2 + 2 * (m.jitterMs ?? 0) + 10;
  const id = d < 160 ? d / 40 : (d - 120) / 10;
  const r = 93.2 - id - 2.5 * (m.lossPct ?? 0);
  if (r <= 0) return 1;
  if (r >= 100) return 4.5;
  const mos = 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r);
  return Math.round(Math.min(4.5, Math.max(1, mos)) * 100) / 100;
}
