import { describe, expect, it } from 'vitest';
import { type ConnectionSnapshot, initialConnection, nextConnection } from '../src/connection-state.js';

const err = { code: 'DISCONNECTED', message: 'transport close' };

describe('nextConnection', () => {
  it('goes disconnected → connecting → connected → reconnecting → connected, resetting the attempt', () => {
    let s: ConnectionSnapshot = initialConnection;
    const seen: string[] = [];
    const step = (e: Parameters<typeof nextConnection>[1]) => {
      s = nextConnection(s, e, 5);
      seen.push(`${s.state}:${s.attempt}`);
    };
    step({ type: 'connect' });
    step({ type: 'opened' });
    step({ type: 'lost', error: err, retryAt: 1000 });
    step({ type: 'retry' });
    step({ type: 'lost', error: err });
    step({ type: 'retry' });
    step({ type: 'opened' });
    expect(seen).toEqual([
      'connecting:0',
      'connected:0',
      'reconnecting:1',
      'reconnecting:1',
      'reconnecting:2',
      'reconnecting:2',
      'connected:0',
    ]);
  });

  it('fails after the last of maxAttempts tries and keeps the error', () => {
    let s = nextConnection(nextConnection(initialConnection, { type: 'connect' }, 3), { type: 'opened' }, 3);
    const states: string[] = [];
    for (let i = 0; i < 4; i++) {
      s = nextConnection(s, { type: 'lost', error: err }, 3);
      states.push(s.state);
    }
    expect(states).toEqual(['reconnecting', 'reconnecting', 'reconnecting', 'failed']);
    expect(s.lastError).toEqual(err);
    // connect() from failed starts over.
    expect(nextConnection(s, { type: 'connect' }, 3)).toEqual({ state: 'connecting', attempt: 0 });
  });

  it('stops at once on a fatal error and ignores socket noise once closed', () => {
    const connecting = nextConnection(initialConnection, { type: 'connect' }, 5);
    const failed = nextConnection(connecting, { type: 'lost', error: { code: 'UNAUTHORIZED', message: 'bad token' }, fatal: true }, 5);
    expect(failed.state).toBe('failed');
    const closed = nextConnection(connecting, { type: 'closed' }, 5);
    expect(closed.state).toBe('disconnected');
    expect(nextConnection(closed, { type: 'opened' }, 5)).toBe(closed);
    expect(nextConnection(closed, { type: 'lost', error: err }, 5)).toBe(closed);
  });
});
