// What a failed proxy attempt means for the caller and for the upstream's health: reply-from wraps
// the undici/Node error, so both the wrapper's code and its cause's code are looked at.

export type UpstreamFailure =
  /** The request never reached the upstream (refused, unresolvable, connect time-out): safe to retry. */
  | 'unreachable'
  /** The connection broke mid-request: the upstream may have acted on it. */
  | 'reset'
  /** The upstream took too long to answer. */
  | 'timeout'
  | 'other';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ERR_HTTP2_STREAM_CANCEL']);
const TIMEOUT = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'FST_REPLY_FROM_TIMEOUT',
  'FST_REPLY_FROM_GATEWAY_TIMEOUT',
  'FST_REPLY_FROM_HTTP_REQUEST_TIMEOUT',
]);

function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e = err as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; e && depth < 4; depth++) {
    if (typeof e.code === 'string') codes.push(e.code);
    e = e.cause as typeof e;
  }
  return codes;
}

export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const codes = codesOf(err);
  // The innermost cause is the most precise (a reply-from wrapper may say ECONNRESET for a refusal).
  for (const code of codes.reverse()) {
    if (UNREACHABLE.has(code)) return 'unreachable';
    if (TIMEOUT.has(code)) return 'timeout';
    if (RESET.has(code)) return 'reset';
  }
  return 'other';
}

const REPLAYABLE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** May this attempt be repeated on another instance? Only if the first cannot have acted on it. */
export function mayRetryElsewhere(failure: UpstreamFailure, method: string): boolean {
  if (failure === 'unreachable') return true;
  return failure === 'reset' && REPLAYABLE_METHODS.has(method.toUpperCase());
}

/** Connection failures take the instance out of rotation until its /ready answers again. */
export const marksUpstreamDown = (failure: UpstreamFailure) =>
  failure === 'unreachable' || failure === 'reset';
