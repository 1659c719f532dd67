import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  callScopedPassword,
  callScopedUsername,
  coturnHmacKey,
  restCredential,
} from '../../src/turn/credentials.js';

describe('TURN credentials', () => {
  it('REST-API form: expiry:userId, base64 HMAC-SHA1 of the username with the shared secret', () => {
    const c = restCredential('s3cret', 'USER1', 1_900_000_000);
    expect(c.username).toBe('1900000000:USER1');
    expect(c.credential).toBe(createHmac('sha1', 's3cret').update('1900000000:USER1').digest('base64'));
  });

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
