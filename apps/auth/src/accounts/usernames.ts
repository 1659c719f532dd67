// Usernames are unique case-insensitively. FerretDB has no collation, so the lowercased form is
// stored beside the original and carries the unique index. Admin status is not a matter of names
// (accounts/admin-rights.ts).
export type AccountKind = 'user' | 'admin';

/** The form a username is stored, looked up and throttled under. */
export function normalizeUsername(username: string): string {
  return username.toLowerCase();
}
