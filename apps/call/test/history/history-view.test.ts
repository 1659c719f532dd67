import { describe, expect, it } from 'vitest';
import type { CallRecord } from '../../src/history/call-repository.js';
import { decodeCursor, encodeCursor, outcomeFor, toHistoryItem } from '../../src/history/history-view.js';

const record = (over: Partial<CallRecord> = {}): CallRecord => ({
  callId: 'CALL1',
  callerId: 'A',
  calleeId: 'B',
  media: 'audio',
  state: 'ended',
  createdAt: new Date('2026-01-01T10:00:00Z'),
  expiresAt: new Date('2026-01-01T10:00:30Z'),
  answeredAt: null,
  endedAt: new Date('2026-01-01T10:00:30Z'),
  endReason: 'no-answer',
  outcome: 'missed',
  durationMs: 0,
  endedBy: null,
  replacedBy: null,
  push: null,
  pushReport: null,
  recordedAt: new Date(),
  quality: null,
  qualityMos: null,
  ...over,
});

describe('outcome from each side', () => {
  it.each([
    ['no-answer', null, 'missed', 'missed'],
    ['cancelled', null, 'cancelled', 'missed'],
    ['hangup', null, 'cancelled', 'missed'],
    ['rejected', null, 'rejected', 'rejected'],
    ['busy', null, 'busy', 'busy'],
    ['connection-lost', null, 'failed', 'failed'],
    ['failed', null, 'failed', 'failed'],
    ['hangup', new Date(), 'answered', 'answered'],
    ['connection-lost', new Date(), 'answered', 'answered'],
  ] as const)('%s (answered: %s) → caller %s, callee %s', (endReason, answeredAt, caller, callee) => {
    const r = record({ endReason, answeredAt });
    expect(outcomeFor('caller', r)).toBe(caller);
    expect(outcomeFor('callee', r)).toBe(callee);
  });

  it('a call replaced in glare is cancelled for both: the surviving call connects them', () => {
    const r = record({ endReason: 'cancelled', replacedBy: 'CALL0' });
    expect(outcomeFor('callee', r)).toBe('cancelled');
    expect(outcomeFor('caller', r)).toBe('cancelled');
  });
});

describe('history items', () => {
  it('are written from the viewer: direction and peer', () => {
    expect(toHistoryItem(record(), 'A')).toMatchObject({
      direction: 'outgoing',
      peerId: 'B',
      outcome: 'missed',
    });
    expect(toHistoryItem(record({ endReason: 'cancelled' }), 'B')).toMatchObject({
      direction: 'incoming',
      peerId: 'A',
      outcome: 'missed',
    });
  });
});

describe('cursor', () => {
  it('round-trips and refuses what it did not issue', () => {
    const c = encodeCursor({ createdAt: new Date('2026-01-01T10:00:00.123Z'), callId: '01JABC' });
    expect(decodeCursor(c)).toEqual({ createdAt: new Date('2026-01-01T10:00:00.123Z'), callId: '01JABC' });
    expect(decodeCursor('garbage')).toBeNull();
    expect(decodeCursor(Buffer.from('12:bad id!').toString('base64url'))).toBeNull();
  });
});
