// Builds the gateway against the real Redis of the test run, in front of the given upstreams, with
// generous limits unless a test asks otherwise (test files share one Redis and one client IP).
import { randomBytes, randomUUID } from 'node:crypto';
import { keys } from '@voip/contracts/redis-keys';
import type { App } from '@voip/kit/app';
import { parseConfig } from '@voip/kit/config';
import { createTokenSigner } from '@voip/kit/jwt';
import { serviceEnv, testKeys } from '@voip/testkit/env';
import { buildApp } from '../../src/app.js';
import { configSpec } from '../../src/config.js';

export interface Upstreams {
  auth: string[];
  users: string[];
  calls: string[];
}

export async function buildGateway(upstreams: Upstreams, env: Record<string, string> = {}): Promise<App> {
  const config = parseConfig(
    configSpec,
    serviceEnv({
      AUTH_UPSTREAMS: upstreams.auth.join(','),
      USER_UPSTREAMS: upstreams.users.join(','),
      CALL_UPSTREAMS: upstreams.calls.join(','),
      HEALTH_CHECK_INTERVAL_MS: '100',
      HEALTH_CHECK_TIMEOUT_MS: '500',
      RATE_LIMIT_USER_MAX: '100000',
      RATE_LIMIT_ANON_MAX: '100000',
      RATE_LIMIT_CREDENTIALS_MAX: '100000',
      RATE_LIMIT_AUTH_FAILURES_MAX: '100000',
      ...env,
    }),
  );
  const app = await buildApp(config);
  await app.ready();
  return app;
}

export interface TestSession {
  userId: string;
  sessionId: string;
  token: string;
  authorization: string;
}

/** A valid access token whose session is live in Redis, as auth would leave it. */
export async function openSession(app: App, kind: 'user' | 'guest' | 'admin' = 'user'): Promise<TestSession> {
  const userId = randomUUID().replaceAll('-', '');
  const sessionId = randomUUID().replaceAll('-', '');
  await app.redis.hset(keys.session(sessionId), {
    userId,
    kind,
    displayName: 'Test',
    createdAt: new Date().toISOString(),
  });
  await app.redis.pexpire(keys.session(sessionId), 600_000);
  const token = createTokenSigner(testKeys().privateKey).sign({ sub: userId, kind, sid: sessionId }, 900);
  return { userId, sessionId, token, authorization: `Bearer ${token}` };
}

/** A different address per test, so per-IP budgets of one test never meet another's. */
export const uniqueClientIp = () => `10.${[...randomBytes(3)].join('.')}`;
