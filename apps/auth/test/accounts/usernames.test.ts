import { describe, expect, it } from 'vitest';
import { adminUsernameSet, kindForUsername, normalizeUsername } from '../../src/accounts/usernames.js';

describe('usernames', () => {
  it('normalizes case so Alice and alice are one account', () => {
    expect(normalizeUsername('Alice.Smith')).toBe('alice.smith');
    expect(normalizeUsername('ALICE')).toBe(normalizeUsername('alice'));
  });

  it('reads ADMIN_USERNAMES case-insensitively, ignoring blanks', () => {
    const admins = adminUsernameSet(['Root', ' ops ', '']);
    expect([...admins].sort()).toEqual(['ops', 'root']);
  });

  it('makes a username admin only when the configuration lists it', () => {
    const admins = adminUsernameSet(['root']);
    expect(kindForUsername('ROOT', admins)).toBe('admin');
    expect(kindForUsername('rooty', admins)).toBe('user');
    expect(kindForUsername('root', adminUsernameSet([]))).toBe('user');
  });
});
