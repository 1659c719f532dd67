// The live half of call quality: samples an RTCPeerConnection's getStats() every few seconds, reduces
// each pair of snapshots (quality-stats.ts), feeds the adapter (quality-adapt.ts) and applies its steps
// to the video sender with setParameters, and sends `call-quality` summaries over the socket: every
// reportIntervalMs, at once when the step changes, and a final one at hang-up.
import type { CallQualityPayload, QualityStep as StepName } from '@voip/contracts/quality';
import { Emitter } from './emitter.js';
import { type AdaptationConfig, encodingFor, QualityAdapter, type QualityStep } from './quality-adapt.js';
import {
  aggregate,
  type QualityInterval,
  type RtcStat,
  type StatsSnapshot,
  summarizeInterval,
} from './quality-stats.js';

export interface QualityOptions {
  /** getStats() period; default 2000 ms. */
  sampleIntervalMs?: number;
  /** How often a `call-quality` summary is sent; default 10000 ms (and on every step change, and at hang-up). */
  reportIntervalMs?: number;
  /** Steps and thresholds (defaults: DEFAULT_ADAPTATION); `false` measures without changing what is sent. */
  adaptation?: Partial<AdaptationConfig> | false;
}

export interface QualitySample extends QualityInterval {
  /** The sending step after this sample (null: no video to adapt, or adaptation off). */
  step: StepName | null;
  /** From the call being answered to the first media packet, once known. */
  timeToMediaMs: number | null;
}

export interface StepChange {
  from: StepName;
  to: StepName;
  direction: 'down' | 'up';
  availableOutKbps: number | null;
  lossPct: number | null;
}

export interface QualityMonitorEvents {
  sample: QualitySample;
  step: StepChange;
  /** A summary was sent: `ok` false when the server refused it (`error` is its code). */
  report: { payload: CallQualityPayload; ok: boolean; error?: string };
}

/** What the monitor needs from the call (a Call fits). */
export interface QualityCall {
  readonly id: string;
  readonly answeredAt: number | undefined;
  sendQuality(summary: Omit<CallQualityPayload, 'callId'>): Promise<void>;
}

/** The server refuses a second summary within a second (API.md, `call-quality`). */
const MIN_REPORT_GAP_MS = 1100;
const clamp = (n: number, max: number) => Math.min(max, Math.max(0, n));
const optional = <K extends string, V>(key: K, v: V | null | undefined) =>
  (v === null || v === undefined ? {} : { [key]: v }) as Partial<Record<K, V>>;

export class QualityMonitor extends Emitter<QualityMonitorEvents> {
  readonly #pc: RTCPeerConnection;
  readonly #call: QualityCall;
  readonly #sampleMs: number;
  readonly #reportMs: number;
  readonly #adapter: QualityAdapter | null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #prev: StatsSnapshot | undefined;
  #pending: QualityInterval[] = [];
  #last: QualityInterval | undefined;
  #lastReportAt = 0;
  /** A step change not reported yet (the server takes one summary a second per call and device). */
  #changeUnsent = false;
  #seq = 0;
  #firstMediaAt: number | undefined;
  #sampling: Promise<void> | null = null;
  #stopped = false;
  #finalSent = false;
  /** Read at each sample (a closed connection may no longer tell). */
  #kinds = new Set<string>();
  #sendsVideo = false;

  constructor(pc: RTCPeerConnection, call: QualityCall, opts: QualityOptions = {}) {
    super();
    this.#pc = pc;
    this.#call = call;
    this.#sampleMs = Math.max(250, opts.sampleIntervalMs ?? 2000);
    this.#reportMs = Math.max(this.#sampleMs, opts.reportIntervalMs ?? 10_000);
    this.#adapter = opts.adaptation === false ? null : new QualityAdapter(opts.adaptation ?? {});
  }

  /** The current sending step, or null when there is no video sender to adapt. */
  get step(): StepName | null {
    return this.#adapter && this.#sendsVideo ? this.#adapter.step.name : null;
  }

  get timeToMediaMs(): number | null {
    const answered = this.#call.answeredAt;
    return this.#firstMediaAt !== undefined && answered !== undefined
      ? Math.max(0, this.#firstMediaAt - answered)
      : null;
  }

  /** The first media packet arrived now (a remote track unmuted); earlier than the next sample sees it. */
  markFirstMedia(at = Date.now()): void {
    this.#firstMediaAt ??= at;
  }

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#lastReportAt = Date.now();
    // Applies the starting step's caps before the encoder ramps up.
    if (this.#adapter) void this.#apply(this.#adapter.step).catch(() => undefined);
    this.#timer = setInterval(() => void this.sample().catch(() => undefined), this.#sampleMs);
  }

  /** Takes one sample now (the timer calls this; tests and the final summary too). */
  sample(): Promise<void> {
    this.#sampling ??= this.#sample().finally(() => {
      this.#sampling = null;
    });
    return this.#sampling;
  }

  async #sample(): Promise<void> {
    if (this.#stopped || this.#pc.connectionState === 'closed') return;
    const report = await this.#pc.getStats();
    const stats: RtcStat[] = [];
    report.forEach((s: RtcStat) => {
      stats.push(s);
    });
    const snap: StatsSnapshot = { at: Date.now(), stats };
    this.#kinds = this.#readKinds();
    this.#sendsVideo = this.#videoSenders().length > 0;
    const interval = summarizeInterval(this.#prev, snap);
    this.#prev = snap;
    if (interval.packetsReceived > 0) this.markFirstMedia(snap.at);
    this.#pending.push(interval);
    this.#last = interval;

    let change: StepChange | undefined;
    if (this.#adapter && interval.path && this.#sendsVideo) {
      const lossPct = interval.lossOutPct ?? interval.lossInPct;
      const decision = this.#adapter.observe({
        availableOutKbps: interval.availableOutKbps,
        lossPct,
        atMs: snap.at,
      });
      if (decision.changed) {
        change = { ...decision.changed, availableOutKbps: interval.availableOutKbps, lossPct };
        await this.#apply(decision.step);
      }
    }
    this.emit('sample', { ...interval, step: this.step, timeToMediaMs: this.timeToMediaMs });
    if (change) this.emit('step', change);
    if (this.#stopped) return;
    if (change) this.#changeUnsent = true;
    const since = snap.at - this.#lastReportAt;
    if ((this.#changeUnsent && since >= MIN_REPORT_GAP_MS) || since >= this.#reportMs)
      await this.#report(false);
  }

  /**
   * Stops sampling and sends the final summary: with one last sample when the connection is still open
   * (our hang-up), else from what was measured (the peer hung up first).
   */
  async finish(opts: { sample: boolean }): Promise<void> {
    if (this.#finalSent) return;
    clearInterval(this.#timer);
    if (opts.sample) await this.sample().catch(() => undefined);
    else await this.#sampling?.catch(() => undefined);
    if (this.#finalSent) return;
    this.#stopped = true;
    this.#finalSent = true;
    if (!this.#last) return; // never measured anything: nothing to summarise
    await this.#report(true);
  }

  /** Stops without a final summary. */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#timer);
  }

  async #report(final: boolean): Promise<void> {
    const intervals = this.#pending;
    this.#pending = [];
    this.#lastReportAt = Date.now();
    this.#changeUnsent = false;
    const payload = this.#summary(intervals, final);
    if (!payload) return;
    const full = { ...payload, callId: this.#call.id };
    await this.#call.sendQuality(payload).then(
      () => this.emit('report', { payload: full, ok: true }),
      (err: { code?: string }) =>
        this.emit('report', { payload: full, ok: false, error: err?.code ?? 'ERROR' }),
    );
  }

  /** The contract's compact summary of the intervals since the last report (bounded to its limits). */
  #summary(intervals: QualityInterval[], final: boolean): Omit<CallQualityPayload, 'callId'> | undefined {
    const agg = aggregate(intervals);
    if (!final && agg.durationMs < 100) return undefined;
    const kinds = this.#kinds;
    const bitrateKbps: NonNullable<CallQualityPayload['bitrateKbps']> = {};
    const k = (n: number) => clamp(n, 1_000_000);
    if (kinds.has('audio'))
      Object.assign(bitrateKbps, { audioIn: k(agg.audioInKbps), audioOut: k(agg.audioOutKbps) });
    if (kinds.has('video'))
      Object.assign(bitrateKbps, { videoIn: k(agg.videoInKbps), videoOut: k(agg.videoOutKbps) });
    const ms = (n: number | null) => (n === null ? null : clamp(n, 600_000));
    const pct = (n: number | null) => (n === null ? null : clamp(n, 100));
    const path = this.#last?.path;
    const step = this.step;
    return {
      seq: this.#seq++,
      ...(final ? { final: true } : {}),
      intervalMs: Math.round(clamp(Math.max(100, agg.durationMs), 600_000)),
      ...optional('rttMs', ms(agg.avg.rttMs)),
      ...optional('jitterMs', ms(agg.avg.jitterMs)),
      ...optional('packetLossInPct', pct(agg.avg.lossInPct)),
      ...optional('packetLossOutPct', pct(agg.avg.lossOutPct)),
      ...(intervals.length ? { bitrateKbps } : {}),
      ...(kinds.has('video') && intervals.length
        ? { framesDecoded: agg.framesDecoded, framesDropped: agg.framesDropped }
        : {}),
      ...(path
        ? {
            path: {
              local: path.local,
              remote: path.remote,
              transport: path.transport,
              ...optional('relayProtocol', path.relayProtocol),
            },
          }
        : {}),
      ...optional('timeToMediaMs', ms(this.timeToMediaMs)),
      ...optional('step', step),
    };
  }

  /** The media kinds this connection carries (sent or received). */
  #readKinds(): Set<string> {
    const kinds = new Set<string>();
    for (const t of this.#pc.getTransceivers?.() ?? []) {
      const kind = t.receiver.track?.kind ?? t.sender.track?.kind;
      if (kind) kinds.add(kind);
    }
    return kinds;
  }

  #videoSenders(): RTCRtpSender[] {
    return this.#pc.getSenders().filter((s) => s.track?.kind === 'video');
  }

  async #apply(step: QualityStep): Promise<void> {
    for (const sender of this.#videoSenders()) {
      const params = sender.getParameters();
      if (!params.encodings?.length) continue; // not negotiated yet: the next step change applies it
      const height = sender.track?.getSettings?.().height;
      const enc = encodingFor(step, height);
      const first = params.encodings[0]!;
      first.active = enc.active;
      if (enc.maxBitrate !== undefined) first.maxBitrate = enc.maxBitrate;
      if (enc.scaleResolutionDownBy !== undefined) first.scaleResolutionDownBy = enc.scaleResolutionDownBy;
      await sender.setParameters(params);
    }
  }
}
