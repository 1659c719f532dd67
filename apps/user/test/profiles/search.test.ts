import { describe, expect, it } from 'vitest';
import {
  decodeSearchCursor,
  encodeSearchCursor,
  escapeRegex,
  prefixPattern,
  searchKeyOf,
} from '../../src/profiles/search.js';

describe('search helpers', () => {
  it('escapes every regex metacharacter', () => {
    const special = ['.', '*', '+', '?', '^', '$', '{', '}', '(', ')', '|', '[', ']', '\\', '/', '-'].join(
      '',
    );
    expect(new RegExp(`^${escapeRegex(special)}$`).test(special)).toBe(true);
    expect(new RegExp(escapeRegex('a.c')).test('abc')).toBe(false);
  });

  it('builds an anchored prefix on the normalized, lower-cased key', () => {
    expect(prefixPattern('Al.')).toBe('^al\\.');
    expect(searchKeyOf('ÉLAN')).toBe('élan');
    expect(searchKeyOf('한'.normalize('NFD'))).toBe('한');
  });

  it('round-trips the page cursor and refuses anything else', () => {
    const c = encodeSearchCursor({ name: 'alice adams', id: '01ABC' });
    expect(decodeSearchCursor(c)).toEqual({ name: 'alice adams', id: '01ABC' });
    for (const bad of [
      '',
      '!!',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('{}').toString('base64url'),
      Buffer.from('not json').toString('base64url'),
    ])
      expect(decodeSearchCursor(bad), bad).toBeNull();
  });
});
