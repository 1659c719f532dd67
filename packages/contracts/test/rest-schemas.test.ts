// The REST bodies of API.md: its examples are accepted, bad ones (and operator injection) refused.
import type { TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import {
  AuthResponse,
  CleanupBeforeQuery,
  GuestBody,
  GuestResponse,
  LoginBody,
  MeResponse,
  RefreshBody,
  RegisterBody,
} from '../src/auth.js';
import { HistoryItem, IceServersResponse, InitiateCallBody, InitiateCallResponse } from '../src/calls.js';
import { ErrorBody, ErrorStatus, Id } from '../src/common.js';
import { InvalidatePushTokensBody, Reachability, ReachabilityQuery } from '../src/internal.js';
import { HandshakeAuth } from '../src/socket.js';
import { PatchMeBody, PresenceMap, PutDeviceBody, SearchQuery, SyncResponse } from '../src/users.js';
import { validator } from '../src/validate.js';

const ULID = '01JD3Y4Q8W6S7T9V0X1Z2A3B4C';
const ULID2 = '01JD3Y4Q8W6S7T9V0X1Z2A3B4D';
const NOW = '2025-01-01T12:00:00.000Z';
const OPERATOR = { $ne: null };

const accepts = (schema: TSchema, value: unknown) =>
  expect(validator(schema).check(value), validator(schema).explain(value)).toBe(true);
const refuses = (schema: TSchema, value: unknown) =>
  expect(validator(schema).check(value), JSON.stringify(value)).toBe(false);

/** Every string field of `example` replaced, one at a time, by an operator object, must be refused. */
function refusesOperatorsInEveryString(schema: TSchema, example: Record<string, unknown>) {
  const fields = Object.entries(example).filter(([, v]) => typeof v === 'string');
  expect(fields.length).toBeGreaterThan(0);
  for (const [k] of fields) {
    refuses(schema, { ...example, [k]: OPERATOR });
    refuses(schema, { ...example, [k]: { $gt: '' } });
    refuses(schema, { ...example, [k]: [example[k]] });
  }
}

describe('auth bodies', () => {
  const register = { username: 'alice_01', password: 'correct horse battery', displayName: 'Alice' };

  it('accept the API.md examples', () => {
    accepts(RegisterBody, register);
    accepts(LoginBody, { username: 'alice_01', password: 'correct horse battery' });
    accepts(RefreshBody, { refreshToken: 'rt_0123456789abcdef0123456789abcdef' });
    accepts(GuestBody, { displayName: 'Guest 42' });
    accepts(CleanupBeforeQuery, { before: NOW });
  });

  it('refuse missing fields, wrong types, extra fields and out-of-range values', () => {
    refuses(RegisterBody, { username: 'alice_01', password: 'correct horse battery' });
    refuses(RegisterBody, { ...register, username: 42 });
    refuses(RegisterBody, { ...register, role: 'admin' });
    refuses(RegisterBody, { ...register, username: 'al' });
    refuses(RegisterBody, { ...register, username: 'alice smith' });
    refuses(RegisterBody, { ...register, username: '_alice' });
    refuses(RegisterBody, { ...register, username: 'a'.repeat(33) });
    refuses(RegisterBody, { ...register, password: 'short' });
    refuses(RegisterBody, { ...register, displayName: '   ' });
    refuses(RegisterBody, { ...register, displayName: '' });
    // Control characters (C0, DEL, C1) anywhere in a name others see; other scripts and emoji are names.
    for (const name of ['Al\nice', 'Bob\u0001', '\u001b[2JEve', 'x\u007f', 'A\u0085B', 'Zoe\u009b', '\t'])
      refuses(GuestBody, { displayName: name });
    for (const name of ['Zoë 李', '  Ana  Maria ', 'عمر', '🙂', 'x'.repeat(64)]) accepts(GuestBody, { displayName: name });
    refuses(LoginBody, { username: '', password: 'x' });
    refuses(LoginBody, { username: 'alice' });
    refuses(RefreshBody, { refreshToken: 'short' });
    refuses(GuestBody, {});
    refuses(CleanupBeforeQuery, { before: 'yesterday' });
    refuses(CleanupBeforeQuery, { before: '2025-13-45T99:00:00Z' });
    for (const body of [null, [], 'string', 42]) refuses(LoginBody, body);
  });

  it('refuse operator objects where strings are expected', () => {
    refusesOperatorsInEveryString(RegisterBody, register);
    refusesOperatorsInEveryString(LoginBody, { username: 'alice_01', password: 'correct horse battery' });
    refusesOperatorsInEveryString(RefreshBody, { refreshToken: 'rt_0123456789abcdef0123456789abcdef' });
    refusesOperatorsInEveryString(GuestBody, { displayName: 'Guest' });
    refusesOperatorsInEveryString(CleanupBeforeQuery, { before: NOW });
  });

  it('describe the responses of API.md', () => {
    const user = { id: ULID, username: 'alice_01', displayName: 'Alice', kind: 'user', createdAt: NOW };
    const pair = { accessToken: 'a.b.c', refreshToken: 'rt', expiresIn: 900 };
    accepts(AuthResponse, { user, ...pair });
    accepts(GuestResponse, { guest: { id: ULID, displayName: 'Guest' }, ...pair });
    accepts(MeResponse, { id: ULID, kind: 'guest', displayName: 'Guest', sessionId: ULID2 });
    refuses(AuthResponse, { user, accessToken: 'a.b.c' });
    refuses(AuthResponse, { user: { ...user, kind: 'root' }, ...pair });
  });
});

describe('user bodies', () => {
  it('accept the API.md examples', () => {
    accepts(PatchMeBody, { displayName: 'Alice B' });
    accepts(PatchMeBody, { avatarUrl: 'https://cdn.example.com/a.png', doNotDisturb: true });
    accepts(PatchMeBody, { avatarUrl: null });
    accepts(PutDeviceBody, { platform: 'android', pushToken: 'fcm-token-123' });
    accepts(SearchQuery, { q: 'ali', limit: 10 });
    accepts(PresenceMap, {
      [ULID]: { status: 'online', lastSeenAt: NOW },
      [ULID2]: { status: 'offline', lastSeenAt: null },
    });
    accepts(SyncResponse, {
      changes: [{ entity: 'contact', op: 'upsert', id: ULID, data: { userId: ULID }, at: NOW }],
      cursor: 'c1',
      hasMore: false,
    });
  });

  it('refuse bad ones', () => {
    refuses(PatchMeBody, {});
    refuses(PatchMeBody, { doNotDisturb: 'yes' });
    refuses(PatchMeBody, { avatarUrl: 'not a url' });
    refuses(PatchMeBody, { displayName: 'A', isAdmin: true });
    refuses(PutDeviceBody, { platform: 'symbian', pushToken: 'x' });
    refuses(PutDeviceBody, { platform: 'android', pushToken: '' });
    refuses(PutDeviceBody, { platform: 'ios', pushToken: 'abc\u0000def' });
    refuses(PutDeviceBody, { platform: 'ios', pushToken: 'abc def' });
    refuses(SearchQuery, { q: '' });
    refuses(SearchQuery, { q: 'a', limit: 500 });
    refuses(PresenceMap, { [ULID]: { status: 'away', lastSeenAt: null } });
  });

  it('refuse operator objects where strings are expected', () => {
    refusesOperatorsInEveryString(PatchMeBody, {
      displayName: 'Alice',
      avatarUrl: 'https://x.example/a.png',
    });
    refusesOperatorsInEveryString(PutDeviceBody, { platform: 'android', pushToken: 'tok' });
    refusesOperatorsInEveryString(SearchQuery, { q: 'ali' });
  });
});

describe('call bodies', () => {
  it('accept the API.md examples', () => {
    accepts(InitiateCallBody, { calleeId: ULID, media: 'audio' });
    accepts(InitiateCallBody, { calleeId: ULID, media: 'video' });
    accepts(InitiateCallResponse, {
      callId: ULID,
      state: 'ringing',
      iceServers: [
        { urls: 'stun:stun.example.com:3478' },
        { urls: ['turn:t.example.com:3478'], username: 'u', credential: 'c' },
      ],
      expiresAt: NOW,
    });
    accepts(HistoryItem, {
      callId: ULID,
      direction: 'outgoing',
      peerId: ULID2,
      media: 'audio',
      outcome: 'answered',
      startedAt: NOW,
      answeredAt: NOW,
      endedAt: NOW,
      durationMs: 61_000,
      endReason: 'hangup',
    });
    accepts(IceServersResponse, { iceServers: [{ urls: 'stun:s.example.com' }], ttlSeconds: 3600 });
  });

  it('refuse bad ones', () => {
    refuses(InitiateCallBody, { calleeId: ULID, media: 'hologram' });
    refuses(InitiateCallBody, { calleeId: ULID });
    refuses(InitiateCallBody, { calleeId: '../../etc/passwd', media: 'audio' });
    refuses(InitiateCallBody, { calleeId: '', media: 'audio' });
    refuses(InitiateCallBody, { calleeId: ULID, media: 'audio', callerId: ULID2 });
    refuses(HistoryItem, { callId: ULID, direction: 'sideways' });
  });

  it('refuse operator objects where strings are expected', () => {
    refusesOperatorsInEveryString(InitiateCallBody, { calleeId: ULID, media: 'audio' });
  });
});

describe('internal routes', () => {
  it('accept what services send and refuse the rest', () => {
    accepts(ReachabilityQuery, { callerId: ULID });
    accepts(Reachability, {
      exists: true,
      kind: 'user',
      displayName: 'A',
      blocked: false,
      doNotDisturb: false,
    });
    accepts(InvalidatePushTokensBody, { pushTokens: ['t1', 't2'] });
    refuses(InvalidatePushTokensBody, { pushTokens: [] });
    refusesOperatorsInEveryString(ReachabilityQuery, { callerId: ULID });
  });
});

describe('common', () => {
  it('ids are opaque strings of safe characters', () => {
    accepts(Id, ULID);
    accepts(Id, 'a1_B-2');
    for (const bad of ['', 'a b', 'a/b', 'a.b', 'a'.repeat(65), OPERATOR, 42, null]) refuses(Id, bad);
  });

  it('the error shape is {error: {code, message, details?}}', () => {
    accepts(ErrorBody, { error: { code: 'NOT_FOUND', message: 'no such user' } });
    accepts(ErrorBody, { error: { code: 'VALIDATION_FAILED', message: 'bad', details: [{ path: '/x' }] } });
    refuses(ErrorBody, { code: 'NOT_FOUND', message: 'flat' });
  });

  it('error codes travel with the statuses API.md gives them', () => {
    const expected: Record<string, number> = {
      VALIDATION_FAILED: 400,
      UNAUTHORIZED: 401,
      TOKEN_EXPIRED: 401,
      SESSION_REVOKED: 401,
      FORBIDDEN: 403,
      BLOCKED: 403,
      NOT_FOUND: 404,
      CALLER_BUSY: 409,
      CALLEE_BUSY: 409,
      PAYLOAD_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      UNAVAILABLE: 503,
    };
    expect(ErrorStatus).toMatchObject(expected);
    for (const [code, status] of Object.entries(ErrorStatus)) {
      expect(code).toMatch(/^[A-Z][A-Z_]*$/);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
    }
  });

  it('explain() says a broken pattern in words (the schema\'s description), not as the regex', () => {
    const why = validator(HandshakeAuth).explain({ token: 't', clientId: 'phone one!' });
    expect(why).toBe('/clientId: must be letters, digits, _ or -');
  });

  it('explain() names the failing path but never echoes the value', () => {
    const v = validator(LoginBody);
    const body = { username: 'alice', password: { $ne: 'hunter2-secret' } };
    expect(v.check(body)).toBe(false);
    const why = v.explain(body);
    expect(why).toMatch(/\/password/);
    expect(why).not.toContain('hunter2-secret');
  });
});
