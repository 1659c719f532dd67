// Session tokens: refresh (rotation with re-use detection) and logout.
import { RefreshBody, TokenPair } from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import type { App } from '@voip/kit/app';
import { AppError } from '@voip/kit/errors';

export async function tokenRoutes(app: App) {
  app.post(
    '/refresh',
    { schema: { body: RefreshBody, response: { 200: TokenPair, ...errorResponses(400, 401, 413, 415) } } },
    async (request) => {
      const { tokens, session } = await app.sessionService.refresh(request.body.refreshToken, request.log);
      if (session.kind === 'guest') await app.accounts.guests.touch(session.userId, new Date());
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
}
