// Short-lived signed download links: HMAC-SHA256 (the one algorithm, pinned) over the recording id and the
// expiry, keyed by RECORDING_LINK_SECRET. The media service checks a link and answers with
// X-Accel-Redirect; Nginx serves the file from its internal location.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function createLinkSigner(secret: string, ttlSeconds: number) {
  const sign = (recordingId: string, exp: number) =>
    createHmac('sha256', secret).update(`recording:${recordingId}:${exp}`).digest('base64url');
  return {
    issue(recordingId: string, now = Date.now()) {
      const exp = now + ttlSeconds * 1000;
      return {
        url: `/api/media/recordings/${recordingId}/file?exp=${exp}&sig=${sign(recordingId, exp)}`,
        expiresAt: new Date(exp).toISOString(),
      };
    },
    /** True for an unexpired link this service signed for this recording. */
    verify(recordingId: string, expRaw: string, sig: string, now = Date.now()): boolean {
      const exp = Number(expRaw);
      if (!Number.isSafeInteger(exp) || exp < now) return false;
      const want = Buffer.from(sign(recordingId, exp));
      const got = Buffer.from(sig);
      return want.length === got.length && timingSafeEqual(want, got);
    },
  };
}
