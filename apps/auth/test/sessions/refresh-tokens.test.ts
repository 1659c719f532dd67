import { describe, expect, it } from 'vitest';
import {
  hashRefreshToken,
  newRefreshToken,
  openNextToken,
  sealNextToken,
} from '../../src/sessions/refresh-tokens.js';

describe('refresh tokens', () => {
  it('are 32 random bytes in base64url', () => {
    const t = newRefreshToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, 'base64url')).toHaveLength(32);
    expect(newRefreshToken()).not.toBe(t);
  });

  it('are stored as a SHA-256 digest that does not contain the token', () => {
    const t = newRefreshToken();
    expect(hashRefreshToken(t)).toBe(hashRefreshToken(t));
    expect(hashRefreshToken(t)).not.toContain(t);
    expect(Buffer.from(hashRefreshToken(t), 'base64url')).toHaveLength(32);
  });

  it('seal the successor so that only the old token opens it', () => {
    const old = newRefreshToken();
    const next = newRefreshToken();
    const sealed = sealNextToken(old, next);
    expect(sealed).not.toContain(next);
    expect(openNextToken(old, sealed)).toBe(next);
    expect(openNextToken(newRefreshToken(), sealed)).toBeNull();
    expect(openNextToken(old, `${sealed.slice(0, -2)}AA`)).toBeNull();
  });
});
