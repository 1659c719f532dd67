// Refresh tokens are opaque random strings; only their SHA-256 is ever stored, so a copy of Redis
// does not hand out sessions.
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url (43 characters). */
export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64url');
}

// The grace window keeps the successor of a rotated token for a retry whose answer was lost. It is kept
// sealed with a key derived from the old token (AES-256-GCM), so Redis never holds a usable refresh
// token: only whoever presents the old token can open it.
const sealKey = (oldToken: string) =>
  createHash('sha256').update(`voip-refresh-grace:${oldToken}`, 'utf8').digest();

/** `next` encrypted under a key derived from `oldToken`: base64url(iv | tag | ciphertext). */
export function sealNextToken(oldToken: string, next: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', sealKey(oldToken), iv);
  const ct = Buffer.concat([cipher.update(next, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url');
}

/** The token sealed by sealNextToken, or null when `oldToken` does not open it. */
export function openNextToken(oldToken: string, sealed: string): string | null {
  try {
    const raw = Buffer.from(sealed, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', sealKey(oldToken), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}
