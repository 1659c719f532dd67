// The local socket index by session and by user (one socket kept as is, a Set from the second on): what
// it answers through adds and removes in any order, one, two and three sockets per key.
import { describe, expect, it } from 'vitest';
import { createLocalSockets } from '../src/realtime/local-sockets.js';
import type { SignalingSocket } from '../src/realtime/types.js';

const sock = (name: string, userId: string, sessionId: string, kind = 'user') =>
  ({ name, data: { userId, sessionId, kind } }) as unknown as SignalingSocket;
const names = (xs: SignalingSocket[]) => xs.map((s) => (s as unknown as { name: string }).name).sort();

describe('local sockets', () => {
  it('answers by user and by session through adds and removes', () => {
    const l = createLocalSockets();
    const a1 = sock('a1', 'a', 's1');
    const a2 = sock('a2', 'a', 's1');
    const a3 = sock('a3', 'a', 's2');
    const g = sock('g', 'g', 's3', 'guest');
    expect(l.byUser('a')).toEqual([]);
    l.add(a1);
    l.add(a1); // the same socket twice stays one
    expect(names(l.byUser('a'))).toEqual(['a1']);
    l.add(a2);
    l.add(a3);
    l.add(g);
    expect(names(l.byUser('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(names(l.bySession('s1'))).toEqual(['a1', 'a2']);
    expect(names(l.bySession('s2'))).toEqual(['a3']);
    expect(l.connectionCount()).toBe(4);
    expect(l.userCount()).toBe(2);
    expect(l.guestCount()).toBe(1);
    l.remove(a1);
    expect(names(l.byUser('a'))).toEqual(['a2', 'a3']);
    expect(names(l.bySession('s1'))).toEqual(['a2']);
    l.remove(a1); // twice: nothing more goes
    l.remove(a3);
    expect(names(l.byUser('a'))).toEqual(['a2']);
    expect(l.bySession('s2')).toEqual([]);
    l.add(a1);
    expect(names(l.bySession('s1'))).toEqual(['a1', 'a2']);
    l.remove(a2);
    l.remove(a1);
    l.remove(g);
    expect(l.byUser('a')).toEqual([]);
    expect(l.bySession('s1')).toEqual([]);
    expect(l.userCount()).toBe(0);
    expect(l.connectionCount()).toBe(0);
    expect(l.guestCount()).toBe(0);
  });

  it('a returned list is a copy: changing the index while walking it is safe', () => {
    const l = createLocalSockets();
    const a1 = sock('a1', 'a', 's1');
    const a2 = sock('a2', 'a', 's1');
    l.add(a1);
    l.add(a2);
    for (const s of l.bySession('s1')) l.remove(s);
    expect(l.byUser('a')).toEqual([]);
    l.add(a1);
    const one = l.byUser('a');
    l.remove(a1);
    expect(names(one)).toEqual(['a1']);
  });
});
