import { describe, expect, it } from 'vitest';
import { hasConnectedDevice, isConnectedEntry } from '../src/user-clients.js';

const entry = (state?: 'connected' | 'reconnecting') =>
  JSON.stringify({
    instanceId: 'i1',
    socketId: 's1',
    connectedAt: '2025-01-01T00:00:00.000Z',
    state,
    kind: 'user',
  });

describe('user-clients entries', () => {
  it('counts a connected device, not one in its resume window', () => {
    expect(isConnectedEntry(entry('connected'))).toBe(true);
    expect(isConnectedEntry(entry('reconnecting'))).toBe(false);
    // Entries written before `state` existed were always of connected devices.
    expect(isConnectedEntry(entry())).toBe(true);
  });

  it('never counts what it cannot read', () => {
    expect(isConnectedEntry('{not json')).toBe(false);
    expect(isConnectedEntry(JSON.stringify({ state: 'connected' }))).toBe(false);
  });

  it('says whether any device of a user is connected', () => {
    expect(hasConnectedDevice([])).toBe(false);
    expect(hasConnectedDevice([entry('reconnecting'), entry('reconnecting')])).toBe(false);
    expect(hasConnectedDevice([entry('reconnecting'), entry('connected')])).toBe(true);
  });
});
