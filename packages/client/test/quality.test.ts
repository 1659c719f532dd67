// The pure halves of call quality: the getStats reducer on snapshots recorded from a real Chromium call
// (test/fixtures: two peer connections in one page with the fake camera and microphone, one direct over
// host candidates, one relayed by coturn over TURN/TCP; certificates stripped), and the adaptation steps.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodingFor, QualityAdapter } from '../src/quality-adapt.js';
import { aggregate, type StatsSnapshot, selectedPath, summarizeInterval } from '../src/quality-stats.js';

const here = dirname(fileURLToPath(import.meta.url));
const fixture = (name: string) =>
  JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as { snapshots: StatsSnapshot[] };

describe('summarizeInterval on recorded Chromium stats', () => {
  const direct = fixture('chromium-direct-video.json').snapshots;
  const relay = fixture('chromium-relay-tcp-video.json').snapshots;

  it('derives bitrates, frames, RTT and the direct host path between two snapshots', () => {
    const [a, b] = direct as [StatsSnapshot, StatsSnapshot];
    const s = summarizeInterval(a, b);
    expect(s.durationMs).toBeGreaterThan(2500);
    // Fake camera and Opus: video in the hundreds of kbit/s, audio tens.
    for (const k of ['audioInKbps', 'audioOutKbps', 'videoInKbps', 'videoOutKbps'] as const)
      expect(s[k]).toBeGreaterThan(5);
    expect(s.videoOutKbps).toBeGreaterThan(s.audioOutKbps);
    expect(s.framesDecoded).toBeGreaterThan(30); // ~3 s of frames
    expect(s.rttMs).not.toBeNull();
    expect(s.rttMs).toBeGreaterThanOrEqual(0);
    expect(s.jitterMs).not.toBeNull();
    expect(s.lossInPct).toBe(0);
    expect(s.availableOutKbps).toBeGreaterThan(100);
    expect(s.path).toEqual({ local: 'host', remote: 'host', kind: 'direct', transport: 'udp' });
    expect(s.packetsReceived).toBeGreaterThan(0);
  });

  it('the interval is only what happened between the snapshots, not since the start', () => {
    const [a, b] = direct as [StatsSnapshot, StatsSnapshot];
    const whole = summarizeInterval(undefined, b);
    const part = summarizeInterval(a, b);
    expect(whole.framesDecoded).toBeGreaterThan(part.framesDecoded);
  });

  it('a relayed call reports relay on both ends and TURN over TCP as the transport', () => {
    const [a, b] = relay as [StatsSnapshot, StatsSnapshot];
    const s = summarizeInterval(a, b);
    expect(s.path).toEqual({
      local: 'relay',
      remote: 'relay',
      kind: 'relay',
      transport: 'udp',
      relayProtocol: 'tcp',
    });
    expect(s.videoInKbps).toBeGreaterThan(5);
  });

  it('counts lost packets in the interval as loss, and a stream restarting its counters from zero', () => {
    const [a, b] = direct as [StatsSnapshot, StatsSnapshot];
    const lossy = structuredClone(b);
    const inbound = lossy.stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video')!;
    const before = a.stats.find((s) => s.id === inbound.id)!;
    const received = (inbound.packetsReceived as number) - (before.packetsReceived as number);
    // As many lost as a third of what arrived: 25 % of what was sent, on video; audio lost none.
    inbound.packetsLost = ((before.packetsLost as number) ?? 0) + Math.round(received / 3);
    const s = summarizeInterval(a, lossy);
    expect(s.lossInPct).toBeGreaterThan(5);
    expect(s.lossInPct).toBeLessThan(25);
  });

  it('no selected pair yet: no path, no RTT from the pair', () => {
    const [, b] = direct as [StatsSnapshot, StatsSnapshot];
    const early = {
      at: b.at,
      stats: b.stats.filter((s) => s.type !== 'transport' && s.type !== 'candidate-pair'),
    };
    expect(selectedPath(early.stats)).toBeNull();
    expect(summarizeInterval(undefined, early).path).toBeNull();
  });

  it('aggregate: time-weighted averages and the worst interval', () => {
    const [a, b] = direct as [StatsSnapshot, StatsSnapshot];
    const good = summarizeInterval(a, b);
    const bad = { ...good, durationMs: good.durationMs, rttMs: 400, lossInPct: 20 };
    const agg = aggregate([good, good, bad]);
    expect(agg.intervals).toBe(3);
    expect(agg.worst.rttMs).toBe(400);
    expect(agg.worst.lossInPct).toBe(20);
    expect(agg.avg.lossInPct).toBeCloseTo(20 / 3, 0);
    expect(agg.videoOutKbps).toBeCloseTo(good.videoOutKbps, 0);
    expect(agg.framesDecoded).toBe(3 * good.framesDecoded);
  });
});

describe('QualityAdapter', () => {
  const sample = (availableOutKbps: number | null, lossPct: number | null = 0) => ({
    availableOutKbps,
    lossPct,
  });

  it('steps down only after two bad samples in a row', () => {
    const q = new QualityAdapter();
    expect(q.step.name).toBe('1080p');
    expect(q.observe(sample(500)).changed).toBeUndefined();
    expect(q.observe(sample(5000)).verdict).toBe('neutral'); // resets the count
    expect(q.observe(sample(500)).changed).toBeUndefined();
    expect(q.observe(sample(500)).changed).toEqual({ from: '1080p', to: '720p', direction: 'down' });
    // Still too little for 720p: two more bad ones take it to 480p.
    q.observe(sample(500));
    expect(q.observe(sample(500)).step.name).toBe('480p');
  });

  it('a low estimate in the first warmupMs of a call is not bad (it climbs by probing); loss is', () => {
    const q = new QualityAdapter(); // warmupMs 5000
    const at = (atMs: number, kbps: number, loss = 0) => ({ availableOutKbps: kbps, lossPct: loss, atMs });
    // Chromium starts its estimate at 300 kbit/s: the first seconds keep 1080p.
    for (const t of [10_000, 11_000, 12_000, 13_000, 14_999])
      expect(q.observe(at(t, 300))).toMatchObject({ verdict: 'neutral', step: { name: '1080p' } });
    // Loss counts from the first sample: two lossy ones in the warm-up step down.
    const lossy = new QualityAdapter();
    expect(lossy.observe(at(0, 5000, 20)).verdict).toBe('bad');
    expect(lossy.observe(at(1000, 5000, 20)).changed?.to).toBe('720p');
    // Once it is over, a low estimate is bad again.
    expect(q.observe(at(15_000, 300)).verdict).toBe('bad');
    expect(q.observe(at(16_000, 300)).changed).toEqual({ from: '1080p', to: '720p', direction: 'down' });
    expect(new QualityAdapter({ warmupMs: 0 }).observe(at(0, 300)).verdict).toBe('bad');
    expect(() => new QualityAdapter({ warmupMs: -1 })).toThrow(/warmupMs/);
  });

    it('loss alone is bad, whatever the bandwidth', () => {
    const q = new QualityAdapter();
    expect(q.classify(sample(10_000, 12))).toBe('bad');
    expect(q.classify(sample(10_000, 5))).toBe('neutral'); // at the top: nowhere higher to go
  });

  it('steps up after four good samples, needing headroom over the higher step', () => {
    const q = new QualityAdapter({ initialStep: 2 }); // 480p
    expect(q.classify(sample(700 * 1.1 - 1))).toBe('neutral');
    expect(q.classify(sample(700 * 1.1, 5))).toBe('neutral'); // loss not low enough
    for (let i = 0; i < 3; i++) expect(q.observe(sample(900)).changed).toBeUndefined();
    expect(q.observe(sample(900)).changed).toEqual({ from: '480p', to: '720p', direction: 'up' });
  });

  it('goes as low as audio-only and no lower; without a bandwidth estimate it does not climb', () => {
    const q = new QualityAdapter({ initialStep: 3 });
    expect(q.step.name).toBe('audio-only');
    for (let i = 0; i < 5; i++) expect(q.observe(sample(null, 0)).changed).toBeUndefined();
    for (let i = 0; i < 5; i++) expect(q.observe(sample(100, 50)).step.name).toBe('audio-only');
  });

  it('configured steps and thresholds replace the defaults', () => {
    const q = new QualityAdapter({
      steps: [
        { name: '720p', height: 480, maxKbps: 800, minKbps: 400 },
        { name: '480p', height: 240, maxKbps: 200, minKbps: 0 },
      ],
      downAfter: 1,
      upAfter: 1,
    });
    expect(q.observe(sample(300)).changed?.to).toBe('480p');
    expect(q.observe(sample(481)).changed?.to).toBe('720p');
    expect(() => new QualityAdapter({ steps: [] })).toThrow(/at least one step/);
  });

  it('encodingFor: bitrate cap, scale from the camera height, off for audio-only', () => {
    expect(encodingFor({ name: '720p', height: 720, maxKbps: 1200, minKbps: 700 }, 1080)).toEqual({
      active: true,
      maxBitrate: 1_200_000,
      scaleResolutionDownBy: 1.5,
    });
    expect(encodingFor({ name: '1080p', height: 1080, maxKbps: 2500, minKbps: 1500 }, 480)).toMatchObject({
      scaleResolutionDownBy: 1,
    });
    expect(encodingFor({ name: 'audio-only', height: null, maxKbps: 0, minKbps: 0 }, 720)).toEqual({
      active: false,
    });
  });
});
