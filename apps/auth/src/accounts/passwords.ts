// Password hashing with argon2id (OWASP parameters). Unknown usernames are checked against a dummy
// hash with the same parameters, so "no such user" costs as long as "wrong password".
import { randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';

// @node-rs/argon2 defaults to argon2id; its Algorithm is a const enum, which isolatedModules cannot import.
const OPTIONS = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export interface PasswordChecker {
  /** True when `password` matches `passwordHash`; with no hash (unknown user) always false, at the same cost. */
  check(passwordHash: string | null, password: string): Promise<boolean>;
}

export async function createPasswordChecker(): Promise<PasswordChecker> {
  const dummyHash = await hashPassword(randomBytes(24).toString('base64url'));
  return {
    async check(passwordHash, password) {
      try {
        const ok = await verify(passwordHash ?? dummyHash, password);
        return passwordHash !== null && ok;
      } catch {
        // A corrupt stored hash is a failed login, not a 500 that tells the caller the user exists.
        return false;
      }
    },
  };
}
