// Sending quality in steps (1080p / 720p / 480p / audio-only) from the measured available bandwidth and
// loss, with hysteresis: a pure state machine fed one sample at a time. webrtc.ts applies its decisions
// with RTCRtpSender.setParameters; the defaults are documented in the package README.
import type { QualityStep as StepName } from '@voip/contracts/quality';

export interface QualityStep {
  /** Name sent in summaries and to the peer (the contract's steps: 1080p, 720p, 480p, audio-only). */
  name: StepName;
  /** Target frame height; null = no video (audio-only). */
  height: number | null;
  /** maxBitrate for the video encoding, kbit/s (ignored for audio-only). */
  maxKbps: number;
  /** Below this available bandwidth the step is too high (a bad sample). */
  minKbps: number;
}

export interface AdaptationConfig {
  /** Highest first. The last step is where it stops going down. */
  steps: QualityStep[];
  /** Loss (percent, the worse of in and out) at or above which a sample is bad. */
  badLossPct: number;
  /** Loss below which a sample may be good. */
  goodLossPct: number;
  /** To step up, the available bandwidth must exceed the next step's minKbps by this factor. */
  upHeadroom: number;
  /** Consecutive bad samples before stepping down. */
  downAfter: number;
  /** Consecutive good samples before stepping up. */
  upAfter: number;
  /** Index of the step a call starts at (default 0, the highest). */
  initialStep: number;
  /**
   * For this long after the first timed sample, a bandwidth estimate under the step's `minKbps` is not a bad
   * sample (loss still is): a sender's estimate starts low (Chromium: 300 kbit/s) and climbs by probing
   * over the first seconds, so judging it then would step every call down at its start.
   */
  warmupMs: number;
}

export const DEFAULT_STEPS: QualityStep[] = [
  { name: '1080p', height: 1080, maxKbps: 2500, minKbps: 1500 },
  { name: '720p', height: 720, maxKbps: 1200, minKbps: 700 },
  { name: '480p', height: 480, maxKbps: 600, minKbps: 250 },
  { name: 'audio-only', height: null, maxKbps: 0, minKbps: 0 },
];

export const DEFAULT_ADAPTATION: AdaptationConfig = {
  steps: DEFAULT_STEPS,
  badLossPct: 10,
  goodLossPct: 3,
  upHeadroom: 1.1,
  downAfter: 2,
  upAfter: 4,
  initialStep: 0,
  warmupMs: 5000,
};

export interface AdaptationSample {
  /** availableOutgoingBitrate in kbit/s; null when the browser gives none (then only loss counts). */
  availableOutKbps: number | null;
  /** The worse of inbound and outbound loss, percent; null when unknown. */
  lossPct: number | null;
  /** When it was taken (ms); the warm-up counts from the first sample that has it. Without it, none. */
  atMs?: number;
}

export type AdaptationVerdict = 'bad' | 'good' | 'neutral';

export interface AdaptationDecision {
  verdict: AdaptationVerdict;
  /** The step after this sample. */
  step: QualityStep;
  index: number;
  /** Set when this sample moved the step. */
  changed?: { from: StepName; to: StepName; direction: 'down' | 'up' };
}

export function resolveAdaptation(config: Partial<AdaptationConfig> = {}): AdaptationConfig {
  const c = { ...DEFAULT_ADAPTATION, ...config };
  if (!c.steps.length) throw new Error('adaptation needs at least one step');
  if (c.downAfter < 1 || c.upAfter < 1) throw new Error('downAfter and upAfter must be at least 1');
  if (!(c.warmupMs >= 0)) throw new Error('warmupMs must be 0 or more');
  c.initialStep = Math.min(Math.max(0, c.initialStep), c.steps.length - 1);
  return c;
}

export class QualityAdapter {
  readonly config: AdaptationConfig;
  #index: number;
  #bad = 0;
  #good = 0;
  #firstAtMs: number | undefined;

  constructor(config: Partial<AdaptationConfig> = {}) {
    this.config = resolveAdaptation(config);
    this.#index = this.config.initialStep;
  }

  get step(): QualityStep {
    return this.config.steps[this.#index]!;
  }
  get index(): number {
    return this.#index;
  }

  /** Classifies one sample against the current step (pure; `warmingUp`: a low estimate is not bad yet). */
  classify(sample: AdaptationSample, warmingUp = false): AdaptationVerdict {
    const { steps, badLossPct, goodLossPct, upHeadroom } = this.config;
    const current = steps[this.#index]!;
    const loss = sample.lossPct;
    const bw = sample.availableOutKbps;
    if (loss !== null && loss >= badLossPct) return 'bad';
    if (bw !== null && bw < current.minKbps) return warmingUp ? 'neutral' : 'bad';
    const higher = steps[this.#index - 1];
    if (!higher) return 'neutral';
    const lossOk = loss === null || loss < goodLossPct;
    // Without a bandwidth estimate, low loss alone does not justify sending more.
    if (lossOk && bw !== null && bw >= higher.minKbps * upHeadroom) return 'good';
    return 'neutral';
  }

  /** Feeds one sample: counts it and steps down after `downAfter` bad ones, up after `upAfter` good ones. */
  observe(sample: AdaptationSample): AdaptationDecision {
    if (sample.atMs !== undefined) this.#firstAtMs ??= sample.atMs;
    const warmingUp =
      sample.atMs !== undefined &&
      this.#firstAtMs !== undefined &&
      sample.atMs - this.#firstAtMs < this.config.warmupMs;
    const verdict = this.classify(sample, warmingUp);
    const from = this.step.name;
    if (verdict === 'bad') {
      this.#good = 0;
      this.#bad++;
      if (this.#bad >= this.config.downAfter && this.#index < this.config.steps.length - 1) {
        this.#index++;
        this.#bad = 0;
        return this.#moved(verdict, from, 'down');
      }
    } else if (verdict === 'good') {
      this.#bad = 0;
      this.#good++;
      if (this.#good >= this.config.upAfter && this.#index > 0) {
        this.#index--;
        this.#good = 0;
        return this.#moved(verdict, from, 'up');
      }
    } else {
      this.#bad = 0;
      this.#good = 0;
    }
    return { verdict, step: this.step, index: this.#index };
  }

  /** The decision for a sample that has just moved the step, from `from` to the current one. */
  #moved(verdict: AdaptationVerdict, from: StepName, direction: 'down' | 'up'): AdaptationDecision {
    return { verdict, step: this.step, index: this.#index, changed: { from, to: this.step.name, direction } };
  }
}

/**
 * The encoding parameters for a step given the camera's frame height: maxBitrate in bit/s, a
 * scaleResolutionDownBy ≥ 1 that brings the frames to the step's height, active false for audio-only.
 */
export function encodingFor(
  step: QualityStep,
  sourceHeight: number | undefined,
): { active: boolean; maxBitrate?: number; scaleResolutionDownBy?: number } {
  if (step.height === null) return { active: false };
  const scale = sourceHeight && sourceHeight > step.height ? sourceHeight / step.height : 1;
  return {
    active: true,
    maxBitrate: step.maxKbps * 1000,
    scaleResolutionDownBy: Math.round(scale * 100) / 100,
  };
}
