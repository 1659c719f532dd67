import type { BusEventData } from '@voip/contracts/bus-events';
import { ulid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { BusValidationError, createEnvelope, isKnownType, parseEnvelope } from '../src/envelope.js';

const revoked = (): BusEventData<'session.revoked'> => ({
  sessionId: ulid(),
  userId: ulid(),
  reason: 'logout',
});

describe('createEnvelope', () => {
  it('wraps valid data as {v, type, id, source, at, data}', () => {
    const data = revoked();
    const env = createEnvelope('session.revoked', data, 'auth-1');
    expect(env).toEqual({
      v: 1,
      type: 'session.revoked',
      id: expect.any(String),
      source: 'auth-1',
      at: expect.any(String),
      data,
    });
    expect(Number.isNaN(Date.parse(env.at))).toBe(false);
    expect(createEnvelope('session.revoked', data, 'auth-1').id).not.toBe(env.id);
  });

  it('refuses data that does not match the type, and types it does not know', () => {
    const bad = {
      sessionId: { $ne: null },
      userId: ulid(),
      reason: 'x',
    } as unknown as BusEventData<'session.revoked'>;
    expect(() => createEnvelope('session.revoked', bad, 'auth-1')).toThrow(BusValidationError);
    expect(() => createEnvelope('session.revoked', {} as BusEventData<'session.revoked'>, 'auth-1')).toThrow(
      /sessionId/,
    );
    expect(() => createEnvelope('nope.happened' as 'session.revoked', revoked(), 'auth-1')).toThrow(
      /unknown bus event type/,
    );
  });

  it('knows the declared types only (not Object.prototype keys)', () => {
    expect(isKnownType('call.ended')).toBe(true);
    expect(isKnownType('toString')).toBe(false);
    expect(isKnownType('__proto__')).toBe(false);
  });
});

describe('parseEnvelope', () => {
  const valid = () => createEnvelope('session.revoked', revoked(), 'auth-1');

  it('accepts what createEnvelope produced', () => {
    const env = valid();
    expect(parseEnvelope(JSON.stringify(env))).toEqual({ ok: true, envelope: env });
  });

  it.each([
    ['invalid-json', '{"v":1,'],
    ['invalid-json', ''],
    ['invalid-envelope', 'null'],
    ['invalid-envelope', '[]'],
    ['invalid-envelope', '"a string"'],
    ['invalid-envelope', JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), v: 2 })],
    [
      'invalid-envelope',
      JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), at: 'yesterday' }),
    ],
    [
      'invalid-envelope',
      JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), source: '' }),
    ],
    [
      'invalid-envelope',
      JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), data: undefined }),
    ],
    [
      'unknown-type',
      JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), type: 'user.teleported' }),
    ],
    [
      'unknown-type',
      JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), type: 'constructor' }),
    ],
    [
      'invalid-data',
      JSON.stringify({ ...createEnvelope('session.revoked', revoked(), 'a'), data: { sessionId: 1 } }),
    ],
    [
      'invalid-data',
      JSON.stringify({
        ...createEnvelope('session.revoked', revoked(), 'a'),
        data: { ...revoked(), userId: { $ne: null } },
      }),
    ],
  ])('reports %s for %s', (reason, raw) => {
    const parsed = parseEnvelope(raw);
    expect(parsed).toMatchObject({ ok: false, reason });
    if (!parsed.ok) expect(parsed.detail.length).toBeGreaterThan(0);
  });

  it('names the type of unknown and invalid-data messages, so they can be logged', () => {
    const unknown = parseEnvelope(JSON.stringify({ ...valid(), type: 'user.teleported' }));
    expect(unknown).toMatchObject({ ok: false, reason: 'unknown-type', type: 'user.teleported' });
    const invalid = parseEnvelope(JSON.stringify({ ...valid(), data: {} }));
    expect(invalid).toMatchObject({ ok: false, reason: 'invalid-data', type: 'session.revoked' });
  });
});
