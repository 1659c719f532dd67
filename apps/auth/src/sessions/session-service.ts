// Issuing, refreshing and revoking sessions: the rules of API.md's token model on top of the Redis
// store. Access tokens are short ES256 JWTs carrying `sid`; revoking a session deletes it in Redis
// (every service's check fails at once), drops the local cache, and tells signaling over the bus.

import type { Publisher } from '@voip/bus/pubsub';
import type { PrincipalKind } from '@voip/contracts/common';
import { AppError } from '@voip/kit/errors';
import type { TokenSigner } from '@voip/kit/jwt';
import type { SessionChecker } from '@voip/kit/sessions';
import type { FastifyBaseLogger } from 'fastify';
import { ulid } from 'ulid';
import { hashRefreshToken, newRefreshToken, openNextToken, sealNextToken } from './refresh-tokens.js';
import type { SessionRecord, SessionStore } from './session-store.js';

export interface IssuedTokens {
  sessionId: string;
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

export interface SessionOwner {
  userId: string;
  kind: PrincipalKind;
  displayName: string;
}

/** Carried by session.revoked to signaling, which passes it to the socket's `session-revoked`. */
export type RevokeReason =
  | 'logout'
  | 'logout-all'
  | 'refresh-token-reuse'
  | 'guest-deleted'
  | 'admin'
  | (string & {});

export interface SessionService {
  issue(owner: SessionOwner): Promise<IssuedTokens>;
  /** Rotates a refresh token; a rotated one presented again revokes its whole session. */
  refresh(
    refreshToken: string,
    log: FastifyBaseLogger,
    opts?: RefreshOptions,
  ): Promise<{ tokens: IssuedTokens; session: SessionRecord }>;
  revoke(sid: string, reason: RevokeReason, log: FastifyBaseLogger): Promise<SessionRecord | null>;
  revokeAllOf(userId: string, reason: RevokeReason, log: FastifyBaseLogger): Promise<number>;
}

export interface RefreshOptions {
  /**
   * The kind the session's owner should have now (admin rights live on the account). When it differs, the
   * session changes kind and the new access token carries it; a failure keeps the session's kind.
   */
  currentKind?: (session: SessionRecord) => Promise<PrincipalKind>;
}

export interface SessionServiceDeps {
  store: SessionStore;
  signer: TokenSigner;
  accessTtlSeconds: number;
  checker: SessionChecker;
  bus: Publisher;
}

export function createSessionService({
  store,
  signer,
  accessTtlSeconds,
  checker,
  bus,
}: SessionServiceDeps): SessionService {
  const accessTokenFor = (s: SessionOwner & { sid: string }) =>
    signer.sign({ sub: s.userId, kind: s.kind, sid: s.sid, name: s.displayName }, accessTtlSeconds);

  const service: SessionService = {
    async issue(owner) {
      const sid = ulid();
      const refreshToken = newRefreshToken();
      await store.create(
        { sid, ...owner, createdAt: new Date().toISOString() },
        hashRefreshToken(refreshToken),
      );
      return {
        sessionId: sid,
        accessToken: accessTokenFor({ sid, ...owner }),
        refreshToken,
        expiresIn: accessTtlSeconds,
      };
    },

    async refresh(refreshToken, log, opts = {}) {
      let next = newRefreshToken();
      let result = await store.rotate(
        hashRefreshToken(refreshToken),
        hashRefreshToken(next),
        sealNextToken(refreshToken, next),
      );
      if (result.status === 'retried') {
        // The client's earlier refresh went through but its answer was lost: the same successor again.
        const same = openNextToken(refreshToken, result.sealedNext);
        if (same) {
          next = same;
          log.info({ sid: result.session.sid }, 'refresh retried within the grace window; same token pair');
        }
        result = same
          ? { status: 'rotated', session: result.session }
          : { status: 'reused', sid: result.session.sid };
      }
      if (result.status === 'invalid') throw new AppError('UNAUTHORIZED', 'invalid or expired refresh token');
      if (result.status === 'reused') {
        const revoked = await service.revoke(result.sid, 'refresh-token-reuse', log);
        log.warn(
          { securityEvent: 'refresh-token-reuse', sid: result.sid, userId: revoked?.userId ?? null },
          'a rotated refresh token was presented again; session revoked',
        );
        throw new AppError('SESSION_REVOKED', 'refresh token was already used; the session has been revoked');
      }
      let s = result.session;
      if (opts.currentKind) {
        try {
          const kind = await opts.currentKind(s);
          if (kind !== s.kind && (await store.setKind(s.sid, kind))) {
            log.info({ sid: s.sid, userId: s.userId, from: s.kind, to: kind }, 'session kind changed');
            s = { ...s, kind };
          }
        } catch (err) {
          // The token is rotated already: answer with it rather than strand the client.
          log.warn({ err, sid: s.sid }, 'could not re-check the session kind');
        }
      }
      return {
        session: s,
        tokens: {
          sessionId: s.sid,
          accessToken: accessTokenFor({ ...s, sid: s.sid }),
          refreshToken: next,
          expiresIn: accessTtlSeconds,
        },
      };
    },

    async revoke(sid, reason, log) {
      const session = await store.delete(sid);
      checker.invalidate(sid);
      if (!session) return null;
      log.info({ sid, userId: session.userId, reason }, 'session revoked');
      try {
        await bus.publish('session.revoked', { sessionId: sid, userId: session.userId, reason });
      } catch (err) {
        // The session is gone from Redis already, so every service refuses it within its cache time;
        // only the live-socket disconnect is missed.
        log.error({ err, sid }, 'could not publish session.revoked');
      }
      return session;
    },

    async revokeAllOf(userId, reason, log) {
      let n = 0;
      for (const sid of await store.sessionIdsOf(userId)) if (await service.revoke(sid, reason, log)) n++;
      return n;
    },
  };
  return service;
}
