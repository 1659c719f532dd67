// Admin rights are granted to an account by its id, by an operator (`pnpm admin grant <userId>`), never
// by a name someone could register first. The kind lives on the account in MongoDB: login issues it, and
// each refresh re-reads it, so a grant reaches a live session within one access-token lifetime and a
// removal ends every session of the account at once.

import type { UserRepository } from './user-repository.js';
import type { AccountKind } from './usernames.js';

export interface AdminRightsDeps {
  users: UserRepository;
  /** Ends every session of the account (and its sockets); resolves to how many. */
  revokeSessionsOf(userId: string): Promise<number>;
}

export type AdminChange =
  | { status: 'not-found' }
  | { status: 'unchanged'; kind: AccountKind }
  | { status: 'changed'; kind: AccountKind; sessionsRevoked: number };

export async function setAdmin(deps: AdminRightsDeps, userId: string, admin: boolean): Promise<AdminChange> {
  const user = await deps.users.findById(userId);
  if (!user) return { status: 'not-found' };
  const kind: AccountKind = admin ? 'admin' : 'user';
  if (user.kind === kind) return { status: 'unchanged', kind };
  await deps.users.setKind(userId, kind);
  // Taking rights away must not wait for access tokens to expire: sign the account out everywhere.
  const sessionsRevoked = admin ? 0 : await deps.revokeSessionsOf(userId);
  return { status: 'changed', kind, sessionsRevoked };
}
