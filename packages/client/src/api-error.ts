// The one error type the SDK throws for anything the server (REST or socket ack) refused, so apps can
// branch on `code` (API.md's SNAKE_CASE codes) instead of parsing messages.
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    /** HTTP status; 0 when the request never got an answer (network) or for socket acks. */
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** x-request-id of the failed response, for support tickets and logs. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}

export const isApiError = (err: unknown, code?: string): err is ApiError =>
  err instanceof ApiError && (code === undefined || err.code === code);
