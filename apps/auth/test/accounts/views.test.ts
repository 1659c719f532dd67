import { describe, expect, it } from 'vitest';
import { guestMe, toAuthUser, userMe } from '../../src/accounts/views.js';

const user = {
  id: '01HZZUSER',
  username: 'Alice',
  usernameLower: 'alice',
  displayName: 'Alice A.',
  kind: 'user' as const,
  passwordHash: '$argon2id$secret',
  createdAt: new Date('2024-05-01T10:00:00.000Z'),
  announced: true,
};

describe('account views', () => {
  it('never exposes the password hash and gives times as ISO strings', () => {
    const view = toAuthUser(user);
    expect(view).toEqual({
      id: '01HZZUSER',
      username: 'Alice',
      displayName: 'Alice A.',
      kind: 'user',
      createdAt: '2024-05-01T10:00:00.000Z',
    });
    expect(JSON.stringify(userMe(user, 'sid1'))).not.toContain('argon2');
  });

  it('describes a guest with its session and no username', () => {
    const me = guestMe(
      { id: 'g1', displayName: 'Guest', createdAt: new Date(0), lastSeenAt: new Date(0) },
      'sid2',
    );
    expect(me).toEqual({
      id: 'g1',
      kind: 'guest',
      displayName: 'Guest',
      sessionId: 'sid2',
      createdAt: '1970-01-01T00:00:00.000Z',
    });
  });
});
