// The signaling connection's state machine (seed 003 §6), pure so it can be tested and reasoned
// about without sockets: disconnected → connecting → connected → reconnecting → … → failed.
// `attempt` counts the tries of the current outage; seed 001 gives up after 5.
export type ConnectionState = 'disconnected' | 'connecting' | 'connected' | 'reconnecting' | 'failed';

export interface ConnectionSnapshot {
  state: ConnectionState;
  /** Number of the reconnection try in progress or scheduled (0 when not reconnecting). */
  attempt: number;
  /** When the next try starts (ms since epoch), while one is scheduled. */
  nextRetryAt?: number;
  /** Why the last connection or try ended. */
  lastError?: { code: string; message: string };
}

export type ConnectionEvent =
  /** The app asked to connect. */
  | { type: 'connect' }
  /** The socket is up. */
  | { type: 'opened' }
  /** The socket dropped, or a try failed; `fatal` errors (bad credentials) stop retrying. */
  | { type: 'lost'; error: { code: string; message: string }; fatal?: boolean; retryAt?: number }
  /** A scheduled try starts now. */
  | { type: 'retry' }
  /** The app disconnected (or the session was revoked). */
  | { type: 'closed'; error?: { code: string; message: string } };

export const initialConnection: ConnectionSnapshot = { state: 'disconnected', attempt: 0 };

export function nextConnection(s: ConnectionSnapshot, e: ConnectionEvent, maxAttempts: number): ConnectionSnapshot {
  switch (e.type) {
    case 'connect':
      if (s.state === 'disconnected' || s.state === 'failed') return { state: 'connecting', attempt: 0 };
      return s;
    case 'opened':
      if (s.state === 'disconnected' || s.state === 'failed') return s;
      return { state: 'connected', attempt: 0 };
    case 'lost': {
      if (s.state === 'disconnected' || s.state === 'failed') return s;
      if (e.fatal) return { state: 'failed', attempt: s.attempt, lastError: e.error };
      // A drop while connected starts an outage at try 1; a failed try moves to the next one.
      const attempt = s.state === 'connected' || s.state === 'connecting' ? 1 : s.attempt + 1;
      if (attempt > maxAttempts) return { state: 'failed', attempt: s.attempt, lastError: e.error };
      return {
        state: 'reconnecting',
        attempt,
        lastError: e.error,
        ...(e.retryAt !== undefined ? { nextRetryAt: e.retryAt } : {}),
      };
    }
    case 'retry':
      if (s.state !== 'reconnecting') return s;
      return { state: 'reconnecting', attempt: s.attempt, ...(s.lastError ? { lastError: s.lastError } : {}) };
    case 'closed':
      if (s.state === 'disconnected' && !e.error) return s;
      return { state: 'disconnected', attempt: 0, ...(e.error ? { lastError: e.error } : {}) };
  }
}
