// Usernames are unique case-insensitively. FerretDB has no collation, so the lowercased form is
// stored beside the original and carries the unique index; admin status follows ADMIN_USERNAMES.
export type AccountKind = 'user' | 'admin';

/** The form a username is stored, looked up and throttled under. */
export function normalizeUsername(username: string): string {
  return username.toLowerCase();
}

/** The set of admin usernames from the comma list in ADMIN_USERNAMES. */
export function adminUsernameSet(list: readonly string[]): ReadonlySet<string> {
  return new Set(list.map((u) => normalizeUsername(u.trim())).filter(Boolean));
}

/** The configuration decides who is admin: adding a name promotes it at its next login, removing it demotes. */
export function kindForUsername(username: string, admins: ReadonlySet<string>): AccountKind {
  return admins.has(normalizeUsername(username)) ? 'admin' : 'user';
}
