// Session tokens: refresh (rotation with re-use detection), logout, and logout-all ("sign out everywhere").
import { RefreshBody, TokenPair } from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import { principalOf } from '@voip/kit/authenticate';
import type { App } from '@voip/kit/app';
import type { SessionRecord } from '../../sessions/session-store.js';

export async function tokenRoutes(app: App) {
  const { users, guests } = app.accounts;

  // Admin rights live on the account (granted by id, `pnpm admin grant`): every refresh of an account's
  // session re-reads them, so a grant reaches live sessions within one access-token lifetime.
  const currentKind = async (s: SessionRecord) => {
    if (s.kind === 'guest') return s.kind;
    return (await users.findById(s.userId))?.kind ?? s.kind;
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

  // Both end sessions of the caller's own account: an access token is required, and 401 is the only refusal.
  const signedIn = { preHandler: app.requireAuth(), schema: { response: errorResponses(401) } };

  app.post('/logout', signedIn, async (request, reply) => {
    const principal = principalOf(request);
    await app.sessionService.revoke(principal.sessionId, 'logout', request.log);
    return reply.code(204).send();
  });

  // Every session of the caller's account (other devices, and this one): after a lost phone or a leaked
  // password. Each revocation reaches signaling, so every device's sockets are disconnected.
  app.post('/logout-all', signedIn, async (request, reply) => {
    const principal = principalOf(request);
    const revoked = await app.sessionService.revokeAllOf(principal.id, 'logout-all', request.log);
    // The current session is ended by its id too, whatever the account's set says (a no-op when gone).
    await app.sessionService.revoke(principal.sessionId, 'logout-all', request.log);
    request.log.info({ userId: principal.id, revoked }, 'signed out everywhere');
    return reply.code(204).send();
  });
}
