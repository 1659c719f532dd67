// The call-quality contract of issue 19: what a summary may carry, and that everything is bounded.
import { describe, expect, it } from 'vitest';
import { PeerQualityEvent } from '../src/quality.js';
import { ClientEventSchemas } from '../src/socket.js';
import { validator } from '../src/validate.js';

const callId = '01JD3Y4Q8W6S7T9V0X1Z2A3B4C';
const check = validator(ClientEventSchemas['call-quality']);
const full = {
  callId,
  seq: 3,
  final: false,
  intervalMs: 5000,
  rttMs: 42.5,
  jitterMs: 3.2,
  packetLossInPct: 0.5,
  packetLossOutPct: 1,
  bitrateKbps: { audioIn: 32, audioOut: 31.5, videoIn: 1200, videoOut: 1100 },
  framesDecoded: 150,
  framesDropped: 2,
  path: { local: 'relay', remote: 'srflx', transport: 'udp', relayProtocol: 'tls' },
  timeToMediaMs: 850,
  step: '720p',
};

describe('call-quality', () => {
  it('accepts a full summary and a minimal one', () => {
    expect(check.check(full)).toBe(true);
    expect(check.check({ callId, seq: 0, intervalMs: 2000 })).toBe(true);
  });

  it.each([
    ['an extra key', { ...full, note: 'x' }],
    ['an extra key in the path', { ...full, path: { ...full.path, ip: '10.0.0.1' } }],
    ['an extra key in the bitrates', { ...full, bitrateKbps: { audioIn: 1, extra: 2 } }],
    ['a loss over 100 %', { ...full, packetLossInPct: 101 }],
    ['a negative rtt', { ...full, rttMs: -1 }],
    ['an rtt past the bound', { ...full, rttMs: 1e9 }],
    ['an unknown step', { ...full, step: '4k' }],
    ['an unknown candidate type', { ...full, path: { ...full.path, local: 'mdns' } }],
    ['a fractional seq', { ...full, seq: 1.5 }],
    ['no interval', { callId, seq: 1 }],
    ['a string number', { ...full, rttMs: '40' }],
  ])('refuses %s', (_, payload) => {
    expect(check.check(payload)).toBe(false);
  });

  it('peer-quality carries the step (or null) and the poor flag, nothing else', () => {
    const v = validator(PeerQualityEvent);
    expect(v.check({ callId, step: 'audio-only', poor: true })).toBe(true);
    expect(v.check({ callId, step: null, poor: false })).toBe(true);
    expect(v.check({ callId, step: '720p', poor: false, rttMs: 3 })).toBe(false);
  });
});

describe('estimateMos (simplified G.107 E-model)', () => {
  it('a clean path scores about 4.4, a bad one under the poor threshold', async () => {
    const { estimateMos, POOR_MOS } = await import('../src/quality.js');
    // d = 10 + 0 + 10 = 20 → R = 93.2 - 0.5 = 92.7 → MOS ≈ 4.40
    expect(estimateMos({ rttMs: 20, jitterMs: 0, lossPct: 0 })).toBeCloseTo(4.4, 1);
    // 10 % loss: R = 93.2 - ... - 25 ≈ 67 → MOS ≈ 3.45; 20 %: R ≈ 42 → MOS ≈ 2.1
    const ten = estimateMos({ rttMs: 40, jitterMs: 5, lossPct: 10 }) ?? 0;
    expect(ten).toBeGreaterThan(3.2);
    expect(ten).toBeLessThan(3.7);
    expect(estimateMos({ rttMs: 40, jitterMs: 5, lossPct: 20 }) ?? 5).toBeLessThan(POOR_MOS);
    // Long delay alone: d = 400 + 10 → Id = 29 → R ≈ 64 → MOS ≈ 3.3
    expect(estimateMos({ rttMs: 800 })).toBeLessThan(3.5);
    expect(estimateMos({ lossPct: 100 })).toBe(1);
    expect(estimateMos({})).toBeNull();
  });
});
