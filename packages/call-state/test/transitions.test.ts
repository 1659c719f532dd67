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

  it('ends an accepted call only from the two devices in it; other devices of either user are FORBIDDEN', () => {
    const devices = { callerClientId: 'x-phone', answeredByClientId: 'y-phone' };
    for (const e of [{ type: 'hangup' }, { type: 'cancel' }, { type: 'fail', reason: 'failed' }] as const) {
      expect(
        resolveCallTransition('accepted', e, { role: 'caller', clientId: 'x-phone', ...devices }),
      ).toMatchObject({ ok: true, next: 'ended', changed: true });
      expect(
        resolveCallTransition('accepted', e, { role: 'callee', clientId: 'y-phone', ...devices }),
      ).toMatchObject({ ok: true, next: 'ended', changed: true });
      expect(
        resolveCallTransition('accepted', e, { role: 'callee', clientId: 'y-tablet', ...devices }),
      ).toEqual({ ok: false, code: 'FORBIDDEN', message: 'the call is on another device' });
      expect(
        resolveCallTransition('accepted', e, { role: 'caller', clientId: 'x-laptop', ...devices }),
      ).toEqual({ ok: false, code: 'FORBIDDEN', message: 'the call is on another device' });
      // Devices are a participant's concern: the callee's answering device id means nothing on the caller's side.
      expect(
        resolveCallTransition('accepted', e, { role: 'caller', clientId: 'y-phone', ...devices }),
      ).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    expect(
      resolveCallTransition('accepted', { type: 'fail', reason: 'connection-lost' }, { ...devices }),
    ).toMatchObject({ ok: true, endReason: 'connection-lost' });
    expect(
      resolveCallTransition(
        'accepted',
        { type: 'fail', reason: 'connection-lost' },
        { role: 'system', clientId: 'z', ...devices },
      ),
    ).toMatchObject({ ok: true, endReason: 'connection-lost' });
  });

  it('keeps the per-user rule for a request from no device, or a side with no device recorded', () => {
    const devices = { callerClientId: 'x-phone', answeredByClientId: 'y-phone' };
    expect(
      resolveCallTransition('accepted', { type: 'hangup' }, { role: 'callee', ...devices }),
    ).toMatchObject({
      ok: true,
      endReason: 'hangup',
    });
    expect(
      resolveCallTransition(
        'accepted',
        { type: 'hangup' },
        { role: 'caller', clientId: 'x-laptop', answeredByClientId: 'y-phone' },
      ),
    ).toMatchObject({ ok: true, endReason: 'hangup' });
  });

  it('lets any device retry an end after the end, and any callee device decline while it rings', () => {
    const devices = { callerClientId: 'x-phone', answeredByClientId: 'y-phone' };
    expect(
      resolveCallTransition(
        'ended',
        { type: 'hangup' },
        { role: 'callee', clientId: 'y-tablet', ...devices },
      ),
    ).toEqual({ ok: true, next: 'ended', changed: false });
    expect(
      resolveCallTransition(
        'ringing',
        { type: 'hangup' },
        { role: 'callee', clientId: 'y-tablet', callerClientId: 'x-phone' },
      ),
    ).toMatchObject({ ok: true, endReason: 'rejected' });
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

  it("pre-empts a stranger's unanswered ring for someone the callee knows, never for another stranger", () => {
    const strangerRing = { ...call('1', 's', 'b'), fromStranger: true };
    expect(decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, null, strangerRing)).toEqual({
      kind: 'create',
      preempt: ['1'],
    });
    expect(
      decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9', fromStranger: true }, null, strangerRing),
    ).toMatchObject({ kind: 'busy', code: 'CALLEE_BUSY' });
    // A known caller's ring, and an answered stranger's call, hold the callee as before.
    expect(
      decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, null, {
        ...call('1', 'c', 'b'),
        fromStranger: false,
      }),
    ).toMatchObject({ code: 'CALLEE_BUSY' });
    expect(
      decideCreate({ callerId: 'a', calleeId: 'b', newCallId: '9' }, null, {
        ...call('1', 's', 'b', 'accepted'),
        fromStranger: true,
      }),
    ).toMatchObject({ code: 'CALLEE_BUSY' });
    // Someone rung by a stranger may place a call: the ring ends.
    expect(
      decideCreate({ callerId: 'b', calleeId: 'c', newCallId: '9', fromStranger: true }, strangerRing, null),
    ).toEqual({ kind: 'create', preempt: ['1'] });
  });
});
