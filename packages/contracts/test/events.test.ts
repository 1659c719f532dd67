// Every socket and bus event of API.md has a schema, and their payloads are checked like REST bodies.
import { Kind, type TSchema } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { BusEvents, Envelope } from '../src/bus-events.js';
import { ClientEventSchemas, ConnectErrorCode, HandshakeAuth, ServerEventSchemas } from '../src/socket.js';
import { validator } from '../src/validate.js';

const ULID = '01JD3Y4Q8W6S7T9V0X1Z2A3B4C';
const ULID2 = '01JD3Y4Q8W6S7T9V0X1Z2A3B4D';
const NOW = '2025-01-01T12:00:00.000Z';
const SDP = 'v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';
const OPERATOR = { $ne: null };

const check = (schema: TSchema, value: unknown) => validator(schema).check(value);
const isSchema = (s: unknown) => typeof s === 'object' && s !== null && Kind in s;

// The event names API.md lists, written out here so a rename in the code cannot go unnoticed.
const API_CLIENT_EVENTS = [
  'call-user',
  'accept-call',
  'reject-call',
  'ice-candidate',
  'renegotiate',
  'end-call',
  'heartbeat',
  'call-quality',
];
const API_SERVER_EVENTS = [
  'session',
  'incoming-call',
  'call-ringing',
  'call-accepted',
  'call-answered-elsewhere',
  'call-rejected',
  'ice-candidate',
  'renegotiate',
  'call-ended',
  'peer-reconnecting',
  'peer-reconnected',
  'presence',
  'server-shutdown',
  'session-revoked',
  'peer-quality',
  'recording-requested',
  'recording-started',
  'recording-stopped',
  'recording-failed',
  'recording-ready',
];
const BUS_EVENTS = [
  'user.registered',
  'guest.created',
  'guest.deleted',
  'session.revoked',
  'call.created',
  'call.accepted',
  'call.ended',
  'presence.changed',
  'user.updated',
  'call.quality',
  'recording.changed',
  'recording.process',
];

describe('socket events', () => {
  it('every client and server event of API.md has a schema that compiles', () => {
    expect(Object.keys(ClientEventSchemas).sort()).toEqual([...API_CLIENT_EVENTS].sort());
    expect(Object.keys(ServerEventSchemas).sort()).toEqual([...API_SERVER_EVENTS].sort());
    for (const s of [...Object.values(ClientEventSchemas), ...Object.values(ServerEventSchemas)]) {
      expect(isSchema(s)).toBe(true);
      expect(() => validator(s)).not.toThrow();
    }
  });

  const clientExamples: Record<keyof typeof ClientEventSchemas, Record<string, unknown>> = {
    'call-user': { callId: ULID, offer: { type: 'offer', sdp: SDP } },
    'call-quality': { callId: ULID, seq: 1, intervalMs: 5000, rttMs: 40, step: '720p' },
    'accept-call': { callId: ULID, answer: { type: 'answer', sdp: SDP } },
    'reject-call': { callId: ULID, reason: 'declined' },
    'ice-candidate': {
      callId: ULID,
      candidate: {
        candidate: 'candidate:1 1 udp 2122260223 10.0.0.2 54321 typ host',
        sdpMid: '0',
        sdpMLineIndex: 0,
      },
    },
    renegotiate: { callId: ULID, description: { type: 'offer', sdp: SDP } },
    'end-call': { callId: ULID, reason: 'hangup' },
    heartbeat: {},
  };

  it('accept the API.md client payloads', () => {
    for (const [name, example] of Object.entries(clientExamples))
      expect(check(ClientEventSchemas[name as keyof typeof ClientEventSchemas], example), name).toBe(true);
    expect(check(ClientEventSchemas['ice-candidate'], { callId: ULID, candidate: null })).toBe(true);
    expect(check(ClientEventSchemas['reject-call'], { callId: ULID })).toBe(true);
    expect(check(ClientEventSchemas['end-call'], { callId: ULID, reason: 'cancelled' })).toBe(true);
  });

  it('refuse bad client payloads', () => {
    const s = ClientEventSchemas;
    const bad: Array<[TSchema, unknown]> = [
      [s['call-user'], { callId: ULID }],
      [s['call-user'], { callId: ULID, offer: { type: 'answer', sdp: SDP } }],
      [s['call-user'], { callId: ULID, offer: { type: 'offer', sdp: '' } }],
      [s['call-user'], { callId: ULID, offer: { type: 'offer', sdp: 'x'.repeat(60_001) } }],
      [s['call-user'], { callId: ULID, offer: { type: 'offer', sdp: SDP }, calleeId: ULID2 }],
      [s['accept-call'], { callId: ULID, answer: { type: 'offer', sdp: SDP } }],
      [s['reject-call'], { callId: ULID, reason: 'because' }],
      [s['ice-candidate'], { callId: ULID }],
      [s['ice-candidate'], { callId: ULID, candidate: { candidate: 'x'.repeat(2049) } }],
      [s['ice-candidate'], { callId: ULID, candidate: { candidate: 'c', sdpMLineIndex: -1 } }],
      [s.renegotiate, { callId: ULID, description: { type: 'bogus', sdp: SDP } }],
      [s['end-call'], { callId: ULID, reason: 'no-answer' }],
      [s['end-call'], { callId: 'a b' }],
      [s.heartbeat, null],
      [s.heartbeat, 'ping'],
    ];
    for (const [schema, value] of bad)
      expect(check(schema, value), JSON.stringify(value).slice(0, 120)).toBe(false);
    for (const schema of Object.values(s))
      for (const v of [undefined, 42, []]) expect(check(schema, v)).toBe(false);
  });

  it('refuse operator objects where strings are expected', () => {
    for (const [name, example] of Object.entries(clientExamples)) {
      if (!('callId' in example)) continue;
      const schema = ClientEventSchemas[name as keyof typeof ClientEventSchemas];
      expect(check(schema, { ...example, callId: OPERATOR }), name).toBe(false);
    }
    expect(
      check(ClientEventSchemas['call-user'], { callId: ULID, offer: { type: 'offer', sdp: OPERATOR } }),
    ).toBe(false);
    const auth = { token: 'a.b.c', clientId: ULID };
    expect(check(HandshakeAuth, auth)).toBe(true);
    expect(check(HandshakeAuth, { ...auth, token: OPERATOR })).toBe(false);
    expect(check(HandshakeAuth, { ...auth, clientId: OPERATOR })).toBe(false);
    expect(check(HandshakeAuth, { ...auth, clientId: 'short' })).toBe(false);
  });

  it('accept the API.md server payloads', () => {
    const examples: Record<keyof typeof ServerEventSchemas, unknown> = {
      session: { sessionId: 's1', resumeToken: 'r1', resumeWindowMs: 30_000, heartbeatIntervalMs: 25_000 },
      'peer-quality': { callId: ULID, step: '480p', poor: true },
      'incoming-call': {
        callId: ULID,
        from: { id: ULID2, displayName: 'Bob', kind: 'guest' },
        media: 'video',
        offer: { type: 'offer', sdp: SDP },
        expiresAt: NOW,
      },
      'call-ringing': { callId: ULID },
      'call-accepted': { callId: ULID, answer: { type: 'answer', sdp: SDP } },
      'call-answered-elsewhere': { callId: ULID },
      'call-rejected': { callId: ULID, reason: 'declined' },
      'ice-candidate': { callId: ULID, candidate: null },
      renegotiate: { callId: ULID, description: { type: 'answer', sdp: SDP } },
      'call-ended': { callId: ULID, reason: 'cancelled', durationMs: 0, replacedBy: ULID2 },
      'peer-reconnecting': { callId: ULID },
      'peer-reconnected': { callId: ULID },
      presence: { userId: ULID, status: 'busy' },
      'server-shutdown': { reconnectAfterMs: 1000 },
      'session-revoked': { reason: 'logout' },
      'recording-requested': { callId: ULID, recordingId: ULID2, requestedBy: ULID, expiresAt: NOW },
      'recording-started': { callId: ULID, recordingId: ULID2, startedAt: NOW },
      'recording-stopped': { callId: ULID, recordingId: ULID2, reason: 'declined', stoppedBy: ULID },
      'recording-failed': { callId: ULID, recordingId: ULID2, reason: 'media-server-lost' },
      'recording-ready': { callId: ULID, recordingId: ULID2, durationMs: 5000, sizeBytes: 123456 },
    };
    for (const [name, example] of Object.entries(examples))
      expect(check(ServerEventSchemas[name as keyof typeof ServerEventSchemas], example), name).toBe(true);
    for (const reason of [
      'hangup',
      'cancelled',
      'no-answer',
      'rejected',
      'busy',
      'connection-lost',
      'failed',
    ])
      expect(check(ServerEventSchemas['call-ended'], { callId: ULID, reason, durationMs: 5 })).toBe(true);
    expect(check(ServerEventSchemas['call-ended'], { callId: ULID, reason: 'exploded', durationMs: 5 })).toBe(
      false,
    );
  });

  it('names the connect_error codes of API.md', () => {
    expect(ConnectErrorCode).toEqual(
      expect.arrayContaining(['UNAUTHORIZED', 'TOKEN_EXPIRED', 'RATE_LIMITED']),
    );
  });
});

describe('bus events', () => {
  it('every bus event has a schema that compiles', () => {
    expect(Object.keys(BusEvents).sort()).toEqual([...BUS_EVENTS].sort());
    for (const s of Object.values(BusEvents)) {
      expect(isSchema(s)).toBe(true);
      expect(() => validator(s)).not.toThrow();
    }
  });

  it('the envelope is {v: 1, type, id, source, at, data}', () => {
    const env = { v: 1, type: 'call.ended', id: ULID, source: 'signaling-1', at: NOW, data: {} };
    expect(check(Envelope, env)).toBe(true);
    expect(check(Envelope, { ...env, v: 2 })).toBe(false);
    expect(check(Envelope, { ...env, at: 'now' })).toBe(false);
    expect(check(Envelope, { ...env, type: OPERATOR })).toBe(false);
    const { data: _data, ...noData } = env;
    expect(check(Envelope, noData)).toBe(false);
  });

  it('call.ended carries what call history needs, and refuses operator ids', () => {
    const ended = {
      callId: ULID,
      callerId: ULID,
      calleeId: ULID2,
      media: 'audio',
      outcome: 'missed',
      endReason: 'no-answer',
      createdAt: NOW,
      answeredAt: null,
      endedAt: NOW,
      durationMs: 0,
    };
    expect(check(BusEvents['call.ended'], ended)).toBe(true);
    expect(check(BusEvents['call.ended'], { ...ended, callerId: OPERATOR })).toBe(false);
    expect(check(BusEvents['call.ended'], { ...ended, durationMs: -1 })).toBe(false);
    expect(check(BusEvents['session.revoked'], { sessionId: ULID, userId: ULID2, reason: 'logout' })).toBe(
      true,
    );
    expect(
      check(BusEvents['session.revoked'], { sessionId: OPERATOR, userId: ULID2, reason: 'logout' }),
    ).toBe(false);
  });
});

describe('NUL (U+0000) in a socket payload or bus data', () => {
  it('fails validation with a path that names it, like any other schema error', () => {
    const v = validator(ClientEventSchemas['end-call']);
    expect(v.check({ callId: 'c1' })).toBe(true);
    expect(v.check({ callId: 'c\u00001' })).toBe(false);
    expect(v.explain({ callId: 'c\u00001' })).toContain('/callId: must not contain NUL');
  });
});
