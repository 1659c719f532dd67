// Firebase Cloud Messaging, HTTP v1 API: one high-priority data message per device, so a phone whose
// app is asleep or killed wakes up, connects to signaling and receives `incoming-call` while the call
// still rings. FCM's answers are mapped onto SendResult (invalid token / rejected / unavailable).
import type { AccessTokenSource } from './google-oauth.js';
import { TokenError } from './google-oauth.js';
import type { PushMessage, PushProvider, PushTarget, SendResult } from './provider.js';

export interface FcmProviderOptions {
  projectId: string;
  /** https://fcm.googleapis.com (tests: a local stand-in). */
  baseUrl: string;
  tokens: AccessTokenSource;
  timeoutMs: number;
  now?: () => number;
}

interface FcmErrorBody {
  error?: {
    code?: number;
    status?: string;
    message?: string;
    details?: Array<{ '@type'?: string; errorCode?: string; fieldViolations?: Array<{ field?: string }> }>;
  };
}

/** The `data` of a push (`@voip/contracts/push`): every value a string, `type` first. */
export function pushData(m: PushMessage): Record<string, string> {
  if (m.type === 'call-cancelled')
    return { type: m.type, callId: m.callId, reason: m.reason, expiresAt: m.expiresAt };
  return {
    type: 'incoming-call',
    callId: m.callId,
    callerId: m.callerId,
    callerName: m.callerName,
    media: m.media,
    expiresAt: m.expiresAt,
  };
}

/**
 * The FCM v1 request body: data only (the app draws its own call UI), delivered at high priority, for
 * the wake-up and the cancel alike (a cancel at normal priority could arrive after the phone rang out).
 */
export function fcmMessage(target: PushTarget, m: PushMessage, nowMs: number): Record<string, unknown> {
  const ttlSeconds = Math.max(0, Math.ceil((Date.parse(m.expiresAt) - nowMs) / 1000));
  return {
    message: {
      token: target.pushToken,
      data: pushData(m),
      android: { priority: 'HIGH', ttl: `${ttlSeconds}s` },
      apns: {
        headers: {
          'apns-priority': '10',
          'apns-push-type': 'background',
          'apns-expiration': String(Math.floor(Date.parse(m.expiresAt) / 1000)),
        },
        payload: { aps: { 'content-available': 1 } },
      },
      webpush: { headers: { Urgency: 'high', TTL: String(ttlSeconds) } },
    },
  };
}

/** Retry-After in either form (RFC 9110): delay-seconds, or an HTTP date measured against `nowMs`. */
function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  const h = header?.trim();
  if (!h) return undefined;
  const secs = Number(h);
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** Maps an FCM error response onto what the dispatcher should do with it. */
export function classifyFcmError(status: number, body: FcmErrorBody | null, retryAfter?: number): SendResult {
  const err = body?.error;
  const fcmCode = err?.details?.find((d) => d.errorCode)?.errorCode;
  const detail = `${status} ${fcmCode ?? err?.status ?? ''} ${err?.message ?? ''}`.trim();
  if (fcmCode === 'UNREGISTERED' || (status === 404 && err?.status === 'NOT_FOUND'))
    return { ok: false, kind: 'invalid-token', detail };
  if (status === 400 && (fcmCode === 'INVALID_ARGUMENT' || err?.status === 'INVALID_ARGUMENT')) {
    const aboutToken =
      err?.details?.some((d) => d.fieldViolations?.some((f) => f.field === 'message.token')) ||
      /registration token|message\.token/i.test(err?.message ?? '');
    return aboutToken
      ? { ok: false, kind: 'invalid-token', detail }
      : { ok: false, kind: 'rejected', detail };
  }
  if (status === 429 || status >= 500 || status === 401)
    return {
      ok: false,
      kind: 'unavailable',
      detail,
      ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}),
    };
  return { ok: false, kind: 'rejected', detail };
}

export function createFcmProvider(opts: FcmProviderOptions): PushProvider {
  const now = opts.now ?? Date.now;
  const url = `${opts.baseUrl.replace(/\/+$/, '')}/v1/projects/${encodeURIComponent(opts.projectId)}/messages:send`;

  async function post(token: string, body: string, signal: AbortSignal): Promise<Response> {
    return fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(opts.timeoutMs)]),
    });
  }

  return {
    name: 'fcm',
    async send(target, message, signal) {
      const body = JSON.stringify(fcmMessage(target, message, now()));
      try {
        let res = await post(await opts.tokens.getToken(signal), body, signal);
        if (res.status === 401) {
          // The cached token was revoked or expired early: one fresh token, one more try.
          await res.body?.cancel();
          opts.tokens.invalidate();
          res = await post(await opts.tokens.getToken(signal), body, signal);
        }
        if (res.ok) {
          const ok = (await res.json().catch(() => null)) as { name?: unknown } | null;
          return { ok: true, ...(typeof ok?.name === 'string' ? { messageId: ok.name } : {}) };
        }
        const errBody = (await res.json().catch(() => null)) as FcmErrorBody | null;
        return classifyFcmError(res.status, errBody, retryAfterMs(res.headers.get('retry-after'), now()));
      } catch (err) {
        const detail = err instanceof TokenError ? err.message : `request failed: ${(err as Error).message}`;
        return { ok: false, kind: 'unavailable', detail };
      }
    },
  };
}
