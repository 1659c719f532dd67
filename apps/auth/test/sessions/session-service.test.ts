import { createPublisher } from '@voip/bus/pubsub';
import { createTokenSigner, createTokenVerifier, parsePublicKeys } from '@voip/kit/jwt';
import { createRedis } from '@voip/kit/redis';
import { createSessionChecker } from '@voip/kit/sessions';
import { redisUrl, testKeys } from '@voip/testkit/env';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import pino from 'pino';
import { ulid } from 'ulid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSessionService, type SessionService } from '../../src/sessions/session-service.js';
import { createSessionStore } from '../../src/sessions/session-store.js';

/** A real pino logger writing JSON lines into an array, to see what a security event carries. */
function capturingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log: log as unknown as FastifyBaseLogger, lines };
}

describe('session service (real Redis)', () => {
  let redis: Redis;
  let service: SessionService;
  beforeAll(async () => {
    redis = createRedis(redisUrl());
    await redis.connect();
    service = createSessionService({
      store: createSessionStore(redis, { ttlSeconds: 600 }),
      signer: createTokenSigner(testKeys().privateKey),
      accessTtlSeconds: 120,
      checker: createSessionChecker(redis),
      bus: createPublisher(redis, 'session-test'),
    });
  });
  afterAll(() => redis.quit());

  it('issues an ES256 access token carrying sub, kind, sid and the display name', async () => {
    const userId = ulid();
    const t = await service.issue({ userId, kind: 'guest', displayName: 'Gia' });
    const claims = createTokenVerifier(parsePublicKeys(testKeys().publicKey)).verify(t.accessToken);
    expect(claims).toMatchObject({
      sub: userId,
      kind: 'guest',
      sid: t.sessionId,
      name: 'Gia',
      iss: 'voip-auth',
      aud: 'voip',
    });
    expect(claims.exp - claims.iat).toBe(120);
    expect(t.expiresIn).toBe(120);
  });

  it('logs re-use as a warning with sid and userId, never the token', async () => {
    const userId = ulid();
    const t = await service.issue({ userId, kind: 'user', displayName: 'Rae' });
    const { log, lines } = capturingLogger();
    const rotated = await service.refresh(t.refreshToken, log);
    await expect(service.refresh(t.refreshToken, log)).rejects.toMatchObject({ code: 'SESSION_REVOKED' });
    const warning = lines.find((l) => l.securityEvent === 'refresh-token-reuse');
    expect(warning).toMatchObject({ level: 40, sid: t.sessionId, userId });
    const all = JSON.stringify(lines);
    for (const secret of [
      t.refreshToken,
      t.accessToken,
      rotated.tokens.refreshToken,
      rotated.tokens.accessToken,
    ])
      expect(all).not.toContain(secret);
  });

  it('revokes every session of a user', async () => {
    const userId = ulid();
    const a = await service.issue({ userId, kind: 'user', displayName: 'A' });
    const b = await service.issue({ userId, kind: 'user', displayName: 'A' });
    const { log } = capturingLogger();
    expect(await service.revokeAllOf(userId, 'test', log)).toBe(2);
    await expect(service.refresh(a.refreshToken, log)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(service.refresh(b.refreshToken, log)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(await service.revokeAllOf(userId, 'test', log)).toBe(0);
  });
});
