import { describe, expect, it } from 'vitest';
import { createPasswordChecker, hashPassword } from '../../src/accounts/passwords.js';

describe('passwords', () => {
  it('hashes with argon2id and a fresh salt each time', async () => {
    const a = await hashPassword('s3cret-password');
    const b = await hashPassword('s3cret-password');
    expect(a).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(a).not.toBe(b);
  });

  it('accepts the right password only', async () => {
    const checker = await createPasswordChecker();
    const h = await hashPassword('s3cret-password');
    expect(await checker.check(h, 's3cret-password')).toBe(true);
    expect(await checker.check(h, 's3cret-passwordX')).toBe(false);
  });

  it('answers false for an unknown user (no hash) and for a corrupt stored hash', async () => {
    const checker = await createPasswordChecker();
    expect(await checker.check(null, 'anything-at-all')).toBe(false);
    expect(await checker.check('not-a-phc-string', 'anything-at-all')).toBe(false);
  });
});
