import { describe, expect, it } from 'vitest';
import { directionFor, historyOutcomeFor, viewerRole } from '../src/history-outcome.js';

describe('historyOutcomeFor', () => {
  it.each([
    ['no-answer', false, 'missed', 'missed'],
    ['cancelled', false, 'cancelled', 'missed'],
    ['hangup', false, 'cancelled', 'missed'],
    ['rejected', false, 'rejected', 'rejected'],
    ['busy', false, 'busy', 'busy'],
    ['connection-lost', false, 'failed', 'failed'],
    ['failed', false, 'failed', 'failed'],
    [null, false, 'failed', 'failed'],
    ['hangup', true, 'answered', 'answered'],
    ['connection-lost', true, 'answered', 'answered'],
  ] as const)('%s (answered: %s) → caller %s, callee %s', (endReason, answered, caller, callee) => {
    expect(historyOutcomeFor('caller', { answered, endReason })).toBe(caller);
    expect(historyOutcomeFor('callee', { answered, endReason })).toBe(callee);
  });

  it('a call replaced in glare is cancelled for both: the surviving call connects them', () => {
    const call = { answered: false, endReason: 'cancelled', replacedBy: 'CALL0' } as const;
    expect(historyOutcomeFor('callee', call)).toBe('cancelled');
    expect(historyOutcomeFor('caller', call)).toBe('cancelled');
  });
});

describe('viewerRole / directionFor', () => {
  it('the caller sees an outgoing call, the callee an incoming one', () => {
    const call = { callerId: 'A', calleeId: 'B' };
    expect(directionFor(viewerRole(call, 'A'))).toBe('outgoing');
    expect(directionFor(viewerRole(call, 'B'))).toBe('incoming');
  });
});
