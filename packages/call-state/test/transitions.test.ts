import { describe, expect, it } from 'vitest';
import { decideCreate, outcomeFor, resolveCallTransition } from '../src/transitions.js';

describe('resolveCallTransition', () => {
  it('rings, then accepts once; a retried accept from the same device changes nothing', () => {
    expect(resolveCallTransition('ringing', { type: 'accept' }, { role: 'callee' })).toEqual({
      ok: true,
      next: 'accepted',
      changed: true,
    });
    expect(
      resolveCallTransition(
        'accepted',
        { type: 'accept' },
        { role: 'callee', clientId: 'a', answeredByClientId: 'a' },
      ),
    ).toEqual({ ok: true, next: 'accepted', changed: false });
  });

  it('refuses a second device accepting an answered call', () => {
    const t = resolveCallTransition(
      'accepted',
      { type: 'accept' },
      { role: 'callee', clientId: 'b', answeredByClientId: 'a' },
    );
    expect(t).toMatchObject({ ok: false, code: 'INVALID_STATE' });
  });

  it('maps each way a ringing call ends to its reason', () => {
    expect(resolveCallTransition('ringing', { type: 'reject' }, { role: 'callee' })).toMatchObject({
      endReason: 'rejected',
    });
    expect(
      resolveCallTransition('ringing', { type: 'reject', reason: 'busy' }, { role: 'callee' }),
    ).toMatchObject({ endReason: 'busy' });
    expect(resolveCallTransition('ringing', { type: 'cancel' }, { role: 'caller' })).toMatchObject({
      endReason: 'cancelled',
    });
    expect(resolveCallTransition('ringing', { type: 'hangup' }, { role: 'caller' })).toMatchObject({
      endReason: 'cancelled',
    });
    expect(resolveCallTransition('ringing', { type: 'hangup' }, { role: 'callee' })).toMatchObject({
      endReason: 'rejected',
    });
    expect(resolveCallTransition('ringing', { type: 'timeout' })).toMatchObject({ endReason: 'no-answer' });
    expect(resolveCallTransition('ringing', { type: 'fail', reason: 'connection-lost' })).toMatchObject({
      endReason: 'connection-lost',
    });
  });

  it('ends an accepted call by hangup from either side, never by reject or time-out', () => {
    expect(resolveCallTransition('accepted', { type: 'hangup' }, { role: 'callee' })).toMatchObject({
      next: 'ended',
      endReason: 'hangup',
    });
    expect(resolveCallTransition('accepted', { type: 'cancel' }, { role: 'caller' })).toMatchObject({
      next: 'ended',
      endReason: 'hangup',
    });
    expect(resolveCallTransition('accepted', { type: 'reject' }, { role: 'callee' })).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
    expect(resolveCallTransition('accepted', { type: 'timeout' })).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
  });

  it('keeps roles apart: the caller cannot accept or reject, a participant cannot time a call out', () => {
    expect(resolveCallTransition('ringing', { type: 'accept' }, { role: 'caller' })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });
    expect(resolveCallTransition('ringing', { type: 'reject' }, { role: 'caller' })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });
    expect(resolveCallTransition('ringing', { type: 'timeout' }, { role: 'callee' })).toMatchObject({
      ok: false,
      code: 'FORBIDDEN',
    });
  });

  it('treats every end after the end as a harmless retry, but an accept as too late', () => {
    for (const e of [
      { type: 'hangup' },
      { type: 'cancel' },
      { type: 'timeout' },
      { type: 'reject' },
    ] as const)
      expect(resolveCallTransition('ended', e, { role: e.type === 'timeout' ? 'system' : 'callee' })).toEqual(
        {
          ok: true,
          next: 'ended',
          changed: false,
        },
      );
    expect(resolveCallTransition('ended', { type: 'accept' }, { role: 'callee' })).toMatchObject({
      ok: false,
      code: 'INVALID_STATE',
    });
  });
});

describe('outcomeFor', () => {
  it('says answered for any answered call and names the miss otherwise', () => {
    expect(outcomeFor('hangup', true)).toBe('answered');
    expect(outcomeFor('connection-lost', true)).toBe('answered');
    expect(outcomeFor('no-answer', false)).toBe('missed');
    expect(outcomeFor('rejected', false)).toBe('rejected');
    expect(outcomeFor('busy', false)).toBe('busy');
    expect(outcomeFor('cancelled', false)).toBe('cancelled');
    expect(outcomeFor('connection-lost', false)).toBe('failed');
  });
});

describe('decideCreate', () => {
  const call = (
    callId: string,
    callerId: string,
    calleeId: string,
    state: 'ringing' | 'accepted' | 'ended' = 'ringing',
  ) => ({
    callId,
    callerId,
    calleeId,
    state,
  });

  it('creates when neither user is in a live call (ended pointers do not count)', () => {
    expect(
      decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '2' }, null, call('1', 'b', 'c', 'ended')),
    ).toEqual({ kind: 'create' });
  });

  it('reports the busy side', () => {
    expect(
      decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, call('1', 'a', 'c'), null),
    ).toMatchObject({ code: 'CALLER_BUSY' });
    expect(
      decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, null, call('1', 'c', 'b', 'accepted')),
    ).toMatchObject({
      code: 'CALLEE_BUSY',
    });
  });

  it('resolves glare by the lower callId', () => {
    const existing = call('5', 'b', 'a');
    expect(decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, existing, existing)).toEqual({
      kind: 'glare-keep-existing',
      survivingCallId: '5',
    });
    expect(decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '1' }, existing, existing)).toEqual({
      kind: 'glare-replace-existing',
      replacedCallId: '5',
    });
  });

  it('is busy, not glare, once the crossing call was answered', () => {
    const existing = call('5', 'b', 'a', 'accepted');
    expect(decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, existing, existing)).toMatchObject({
      kind: 'busy',
      code: 'CALLER_BUSY',
    });
  });

  it('refuses calling yourself', () => {
    expect(decideCreate({ callerId: 'a', calleeId: 'a', newCallId: '1' }, null, null).kind).toBe('invalid');
  });
});
