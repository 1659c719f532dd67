import { describe, expect, it } from 'vitest';
import { normalizeUsername } from '../../src/accounts/usernames.js';

describe('usernames', () => {
  it('normalizes case so Alice and alice are one account', () => {
    expect(normalizeUsername('Alice.Smith')).toBe('alice.smith');
    expect(normalizeUsername('ALICE')).toBe(normalizeUsername('alice'));
  });
});
