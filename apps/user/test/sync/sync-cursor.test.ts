import { describe, expect, it } from 'vitest';
import { historyItemFor } from '../../src/sync/call-history.js';
import { decodeSyncCursor, encodeSyncCursor } from '../../src/sync/sync-cursor.js';

describe('sync cursor', () => {
  it('round-trips a position for its own account only', () => {
    const c = encodeSyncCursor('USER1', 123_456);
    expect(decodeSyncCursor('USER1', c)).toEqual({ ok: true, seq: 123_456 });
    expect(decodeSyncCursor('USER2', c)).toEqual({ ok: false, reason: 'cursor belongs to another account' });
  });

  it('refuses what it did not make', () => {
    for (const bad of ['', '0', 'c1..abcdefgh', 'c1.zzzzzzzzzzzz.abcdefgh', 'c2.1.abcdefgh', 'c1.1.abc'])
      expect(decodeSyncCursor('USER1', bad).ok, bad).toBe(false);
  });
});

describe('call history item', () => {
  const call = {
    callId: 'C1',
    callerId: 'A',
    calleeId: 'B',
    media: 'audio' as const,
    outcome: 'answered' as const,
    endReason: 'hangup' as const,
    createdAt: '2025-01-01T00:00:00.000Z',
    answeredAt: '2025-01-01T00:00:02.000Z',
    endedAt: '2025-01-01T00:01:02.000Z',
    durationMs: 60_000,
  };

  it('is outgoing for the caller and incoming for the callee', () => {
    expect(historyItemFor(call, 'A')).toMatchObject({
      direction: 'outgoing',
      peerId: 'B',
      startedAt: call.createdAt,
    });
    expect(historyItemFor(call, 'B')).toMatchObject({
      direction: 'incoming',
      peerId: 'A',
      durationMs: 60_000,
    });
  });

  it('is nothing for someone who was not in the call', () => {
    expect(historyItemFor(call, 'C')).toBeNull();
  });
});
