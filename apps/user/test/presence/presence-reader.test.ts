import { describe, expect, it } from 'vitest';
import { normalizePresence } from '../../src/presence/presence-reader.js';

describe('normalizePresence', () => {
  it('keeps known statuses and ISO times', () => {
    expect(normalizePresence('online', '2025-01-01T00:00:00.000Z')).toEqual({
      status: 'online',
      lastSeenAt: '2025-01-01T00:00:00.000Z',
    });
    expect(normalizePresence('busy', null)).toEqual({ status: 'busy', lastSeenAt: null });
  });

  it('reads epoch milliseconds and turns anything unreadable into offline / never', () => {
    expect(normalizePresence('offline', '0')).toEqual({
      status: 'offline',
      lastSeenAt: '1970-01-01T00:00:00.000Z',
    });
    expect(normalizePresence('away', 'yesterday')).toEqual({ status: 'offline', lastSeenAt: null });
    expect(normalizePresence(undefined, undefined)).toEqual({ status: 'offline', lastSeenAt: null });
  });
});
