// Session tokens: refresh (rotation with re-use detection), logout, and logout-all ("sign out everywhere").
import { RefreshBody, TokenPair } from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import type { App } from '@voip/kit/app';
import { AppError } from '@voip/kit/errors';
import { kindForUsername } from '../../accounts/usernames.js';
import type { SessionRecord } from '../../sessions/session-store.js';

export async function tokenRoutes(app: App) {
  const { users, guests, admins } = app.accounts;

  // Admin rights follow ADMIN_USERNAMES: an admin session re-checks at each refresh, so removing a name
  // takes effect within one access-token lifetime (promotion waits for the next login).
  const currentKind = async (s: SessionRecord) => {
    if (s.kind !== 'admin') return s.kind;
    const user = await users.findById(s.userId);
    if (!user) return s.kind;
    const kind = kindForUsername(user.username, admins);
    if (kind !== user.kind) await users.setKind(user.id, kind);
    return kind;
  };

  app.post(
    '/refresh',
    { schema: { body: RefreshBody, response: { 200: TokenPair, ...errorResponses(400, 401, 413, 415) } } },
    async (request) => {
      const { tokens, session } = await app.sessionService.refresh(request.body.refreshToken, request.log, {
        currentKind,
      });
      if (session.kind === 'guest') {
        // Best effort: the token is already rotated, so failing here would strand the client with a
        // used refresh token (and its retry would look like re-use).
        await guests
          .touch(session.userId, new Date())
          .catch((err: unknown) =>
            request.log.warn({ err, userId: session.userId }, 'could not update guest lastSeenAt'),
          );
      }
      request.log.info({ userId: session.userId, sid: session.sid }, 'tokens refreshed');
      return {
        accessToken: tokens.accessToken,
        refreshToken: tokens.refreshToken,
        expiresIn: tokens.expiresIn,
      };
    },
  );

  app.post(
    '/logout',
    { preHandler: app.requireAuth(), schema: { response: errorResponses(401) } },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHORIZED', 'not authenticated');
      await app.sessionService.revoke(principal.sessionId, 'logout', request.log);
      return reply.code(204).send();
    },
  );

  // Every session of the caller's account (other devices, and this one): after a lost phone or a leaked
  // password. Each revocation reaches signaling, so every device's sockets are disconnected.
  app.post(
    '/logout-all',
    { preHandler: app.requireAuth(), schema: { response: errorResponses(401) } },
    async (request, reply) => {
      const principal = request.principal;
      if (!principal) throw new AppError('UNAUTHORIZED', 'not authenticated');
      const revoked = await app.sessionService.revokeAllOf(principal.id, 'logout-all', request.log);
      // The current session is ended by its id too, whatever the account's set says (a no-op when gone).
      await app.sessionService.revoke(principal.sessionId, 'logout-all', request.log);
      request.log.info({ userId: principal.id, revoked }, 'signed out everywhere');
      return reply.code(204).send();
    },
  );
}
