// The user service as the call service sees it: can this caller reach that callee, where do the
// callee's pushes go, and which push tokens to drop. Every lookup has a short deadline: a user service
// that is down or slow is a 503 UPSTREAM_UNAVAILABLE for the caller, never a hang.
import { InvalidatePushTokensResponse, PushDevices, Reachability } from '@voip/contracts/internal';
import { INTERNAL_TOKEN_HEADER } from '@voip/contracts/tokens';
import { validator } from '@voip/contracts/validate';
import { AppError } from '@voip/kit/errors';

export interface UserDirectory {
  reachability(userId: string, callerId: string, signal?: AbortSignal): Promise<Reachability>;
  devices(userId: string, signal?: AbortSignal): Promise<PushDevices['devices']>;
  /** Returns how many device registrations were removed. */
  invalidatePushTokens(pushTokens: string[], signal?: AbortSignal): Promise<number>;
}

export interface UserDirectoryOptions {
  baseUrl: string;
  internalToken: string;
  timeoutMs: number;
}

const reachabilityCheck = validator(Reachability);
const devicesCheck = validator(PushDevices);
const invalidateCheck = validator(InvalidatePushTokensResponse);

const unavailable = (what: string) =>
  new AppError('UPSTREAM_UNAVAILABLE', `user service unavailable (${what})`);

export function createUserDirectory({
  baseUrl,
  internalToken,
  timeoutMs,
}: UserDirectoryOptions): UserDirectory {
  const base = baseUrl.replace(/\/+$/, '');

  async function call(
    path: string,
    init: RequestInit,
    signal?: AbortSignal,
  ): Promise<{ status: number; body: unknown }> {
    const timeout = AbortSignal.timeout(timeoutMs);
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        ...init,
        headers: {
          ...(init.headers as Record<string, string>),
          [INTERNAL_TOKEN_HEADER]: internalToken,
          accept: 'application/json',
        },
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      throw unavailable((err as Error).name === 'TimeoutError' ? 'timed out' : 'unreachable');
    }
    const body = await res.json().catch(() => null);
    return { status: res.status, body };
  }

  return {
    async reachability(userId, callerId, signal) {
      const { status, body } = await call(
        `/internal/users/${encodeURIComponent(userId)}/reachability?callerId=${encodeURIComponent(callerId)}`,
        { method: 'GET' },
        signal,
      );
      if (status === 404) return { exists: false, blocked: false, doNotDisturb: false };
      if (status !== 200 || !reachabilityCheck.check(body))
        throw unavailable(`reachability answered ${status}`);
      return body;
    },
    async devices(userId, signal) {
      const { status, body } = await call(
        `/internal/users/${encodeURIComponent(userId)}/devices`,
        { method: 'GET' },
        signal,
      );
      if (status === 404) return [];
      if (status !== 200 || !devicesCheck.check(body)) throw unavailable(`devices answered ${status}`);
      return body.devices;
    },
    async invalidatePushTokens(pushTokens, signal) {
      if (pushTokens.length === 0) return 0;
      const { status, body } = await call(
        '/internal/push-tokens/invalidate',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ pushTokens }),
        },
        signal,
      );
      if (status !== 200 || !invalidateCheck.check(body))
        throw unavailable(`push-token invalidation answered ${status}`);
      return body.removed;
    },
  };
}
