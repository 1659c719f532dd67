// Session administration: an admin (or another service, with the internal credential) ends one session
// or every session of an account, e.g. a stolen phone or a banned user. Revoking publishes
// session.revoked like logout does, so signaling disconnects the sockets of each session at once.
import type { TSchema } from '@sinclair/typebox';
import { RevokedCount, SessionIdParams, SessionOwnerParams } from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import type { App } from '@voip/kit/app';

export async function sessionAdminRoutes(app: App) {
  const adminOnly = app.requireInternal({ allowAdmin: true });
  // As on the guest housekeeping routes, the credential is checked on request, before the id is
  // validated: a caller without one learns nothing.
  const revocation = <P extends TSchema>(params: P) => ({
    onRequest: adminOnly,
    schema: { params, response: { 200: RevokedCount, ...errorResponses(400, 401, 403) } },
  });

  // An unknown or already revoked session (or a user without sessions) is `{revoked: 0}`, not 404, so a
  // retry is harmless.
  app.delete('/sessions/:sessionId', revocation(SessionIdParams), async (request) => {
    const { sessionId } = request.params;
    const session = await app.sessionService.revoke(sessionId, 'admin', request.log);
    request.log.info(
      { sid: sessionId, by: request.principal?.id, revoked: session !== null },
      'admin revoked a session',
    );
    return { revoked: session ? 1 : 0 };
  });

  app.delete('/users/:userId/sessions', revocation(SessionOwnerParams), async (request) => {
    const { userId } = request.params;
    const revoked = await app.sessionService.revokeAllOf(userId, 'admin', request.log);
    request.log.info({ userId, by: request.principal?.id, revoked }, 'admin revoked the sessions of a user');
    return { revoked };
  });
}
