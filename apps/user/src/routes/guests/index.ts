// Guest housekeeping for operators and other services (admin token or the internal credential):
// DELETE /api/users/guests/cleanup-all and /guests/cleanup?before=ISO → {deleted}.
// The guard runs onRequest, before validation: a stranger gets 401/403, never a 400 about the query.
import { CleanupBeforeQuery, DeletedCount } from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import type { App } from '@voip/kit/app';
import { cleanupGuests } from '../../accounts/guest-removal.js';

export default async function guestRoutes(app: App) {
  const guard = app.requireInternal({ allowAdmin: true });

  app.delete(
    '/guests/cleanup-all',
    { onRequest: guard, schema: { response: { 200: DeletedCount, ...errorResponses(401, 403, 503) } } },
    async (request) => {
      const deleted = await cleanupGuests(app.domain, null);
      request.log.info({ deleted, by: request.principal?.id }, 'all guests cleaned up');
      return { deleted };
    },
  );

  app.delete(
    '/guests/cleanup',
    {
      onRequest: guard,
      schema: {
        querystring: CleanupBeforeQuery,
        response: { 200: DeletedCount, ...errorResponses(400, 401, 403, 503) },
      },
    },
    async (request) => {
      const before = new Date(request.query.before);
      const deleted = await cleanupGuests(app.domain, before);
      request.log.info(
        { deleted, before: before.toISOString(), by: request.principal?.id },
        'old guests cleaned up',
      );
      return { deleted };
    },
  );
}
