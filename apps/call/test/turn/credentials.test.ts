import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  callScopedPassword,
  callScopedUsername,
  coturnHmacKey,
  restCredential,
  restExpiry,
} from '../../src/turn/credentials.js';
import { createIceServerIssuer } from '../../src/turn/ice-servers.js';

describe('TURN credentials', () => {
  it('REST-API form: expiry:scope, base64 HMAC-SHA1 of the username with the shared secret', () => {
    const c = restCredential('s3cret', 'CALL1:USER1', 1_900_000_000);
    expect(c.username).toBe('1900000000:CALL1:USER1');
    expect(c.credential).toBe(createHmac('sha1', 's3cret').update('1900000000:CALL1:USER1').digest('base64'));
  });

  it('REST expiry: windows of the TTL from the call start, at least half a window left, stable within it', () => {
    const start = 1_900_000_000;
    expect(restExpiry(start, start, 3600)).toBe(start + 3600);
    expect(restExpiry(start, start + 1799, 3600)).toBe(start + 3600);
    expect(restExpiry(start, start + 1801, 3600)).toBe(start + 7200);
    expect(restExpiry(start, start + 5000, 3600)).toBe(start + 7200);
    // A call record from a clock ahead of ours still gets at least half a window.
    expect(restExpiry(start + 600, start, 3600) - start).toBeGreaterThanOrEqual(1800);
    for (let now = start; now < start + 4 * 3600; now += 97) {
      const left = restExpiry(start, now, 3600) - now;
      expect(left).toBeGreaterThanOrEqual(1800);
      expect(left).toBeLessThanOrEqual(5400);
    }
  });

  it.each(['rest', 'call-scoped'] as const)(
    '%s mode: TURN only for a call, one username per call and participant however often it is asked',
    async (mode) => {
      let nowMs = Date.parse('2030-03-01T10:00:00Z');
      const written: string[] = [];
      const turnRedis = { set: async (k: string) => void written.push(k) } as unknown as Parameters<
        typeof createIceServerIssuer
      >[0]['turnRedis'];
      const issuer = createIceServerIssuer({
        mode,
        stunUrls: ['stun:turn.example:3478'],
        turnUrls: ['turn:turn.example:3478'],
        realm: 'r',
        secret: 'a-secret-of-sixteen+',
        ttlSeconds: 3600,
        turnRedis,
        now: () => nowMs,
      });
      const call = { callId: 'CALL1', callerId: 'A', calleeId: 'B', createdAt: '2030-03-01T09:59:00Z' };
      const none = await issuer.issue('A');
      expect(none.iceServers).toEqual([{ urls: ['stun:turn.example:3478'] }]);
      const first = await issuer.issue('A', call);
      const turn = first.iceServers.find((s) => s.username);
      expect(turn?.username).toContain('CALL1:A');
      nowMs += 20 * 60_000; // twenty minutes and many requests later: the same user for coturn
      for (let i = 0; i < 5; i++, nowMs += 1000)
        expect((await issuer.issue('A', call)).iceServers).toEqual(first.iceServers);
      const other = (await issuer.issue('B', call)).iceServers.find((s) => s.username);
      expect(other?.username).not.toBe(turn?.username);
      const ttl = (await issuer.issue('A', call)).ttlSeconds;
      expect(ttl).toBeGreaterThanOrEqual(1800);
      expect(ttl).toBeLessThanOrEqual(3600);
    },
  );

  it("coturn's long-term key is the hex md5 of username:realm:password (its own schema example)", () => {
    expect(coturnHmacKey('gorst', 'north.gov', 'hero')).toBe('7da2270ccfa49786e0115366d3a3d14d');
  });

  it('call-scoped users are per call and participant, with a stable password that needs the secret', () => {
    const u = callScopedUsername('CALL1', 'USER1');
    expect(u).toBe('CALL1:USER1');
    expect(callScopedPassword('a', u)).toBe(callScopedPassword('a', u));
    expect(callScopedPassword('a', u)).not.toBe(callScopedPassword('b', u));
    expect(callScopedPassword('a', u)).not.toBe(
      callScopedPassword('a', callScopedUsername('CALL1', 'USER2')),
    );
  });
});
