// Call-quality figures for Prometheus (issue 19), measured where the summaries are folded into the call
// record (the history consumer), so each accepted summary counts once across call-service instances.
// No per-call label: per interval (MOS, rtt, jitter, loss) and per call side once it is final (MOS,
// time to media, path, poor). docs/OPERATIONS.md says what each one means.
import { POOR_MOS } from '@voip/contracts/quality';
import { counter, histogram } from '@voip/kit/metrics';
import type { Registry } from 'prom-client';
import { type IntervalFigures, isPoor, type QualityAcc, sideMos } from './quality-summary.js';

export interface QualityMetrics {
  interval(f: IntervalFigures): void;
  timeToMedia(ms: number): void;
  /** A call side's summary is complete (final summary, or the call ended without one). */
  side(acc: QualityAcc): void;
}

const MOS_BUCKETS = [1.5, 2, 2.5, 3, 3.1, 3.5, 3.8, 4, 4.2, 4.4];

export function createQualityMetrics(registry: Registry): QualityMetrics {
  const intervalMos = histogram(registry, 'call_quality_interval_mos', 'Estimated MOS (simplified ITU-T G.107 E-model) of each call-quality interval', MOS_BUCKETS);
  const rtt = histogram(registry, 'call_quality_rtt_seconds', 'Media round-trip time (selected ICE candidate pair) of each interval', [0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 1, 2]);
  const jitter = histogram(registry, 'call_quality_jitter_seconds', 'Received audio jitter of each interval', [0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2]);
  const loss = histogram(registry, 'call_quality_packet_loss_percent', 'Received packets lost in each interval, percent', [0.1, 0.5, 1, 2, 3, 5, 10, 20, 50]);
  const ttm = histogram(registry, 'call_quality_time_to_media_seconds', 'From the answer to the first media packet received, per call side', [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20]);
  const sideMosH = histogram(registry, 'call_quality_side_mos', 'Average estimated MOS of a call side, once final', MOS_BUCKETS);
  const sides = counter(registry, 'call_quality_sides_total', 'Call sides with a quality summary, by media path (direct, relay, unknown) and TURN transport', ['path', 'relay_protocol']);
  const poor = counter(registry, 'call_quality_poor_sides_total', `Call sides whose average estimated MOS was under ${POOR_MOS}`);
  return {
    interval(f) {
      if (f.mos !== null) intervalMos.observe(f.mos);
      if (f.rttMs !== null) rtt.observe(f.rttMs / 1000);
      if (f.jitterMs !== null) jitter.observe(f.jitterMs / 1000);
      if (f.lossPct !== null) loss.observe(f.lossPct);
    },
    timeToMedia(ms) {
      ttm.observe(ms / 1000);
    },
    side(acc) {
      const mos = sideMos(acc);
      if (mos !== null) sideMosH.observe(mos);
      sides.inc({ path: acc.path ?? 'unknown', relay_protocol: acc.relayProtocol ?? 'none' });
      if (isPoor(acc)) poor.inc();
    },
  };
}
