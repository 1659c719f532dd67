// GET /api/users/sync/changes?since=CURSOR: what changed for the caller (contacts, blocks, profiles,
// calls) after the cursor, oldest first, with the cursor to store. See sync/change-log.ts for why
// paging is exact under concurrent writes.
import { errorResponses } from '@voip/contracts/common';
import { SyncQuery, SyncResponse } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import { AppError } from '@voip/kit/errors';
import { decodeSyncCursor, encodeSyncCursor } from '../../sync/sync-cursor.js';

export default async function syncRoutes(app: App) {
  app.get(
    '/sync/changes',
    {
      preHandler: app.requireAuth(),
      schema: { querystring: SyncQuery, response: { 200: SyncResponse, ...errorResponses(400, 401, 503) } },
    },
    async (request) => {
      const me = request.principal!.id;
      const { since, limit = app.domain.limits.syncPageSize } = request.query;
      let after = 0;
      if (since !== undefined && since !== '') {
        const decoded = decodeSyncCursor(me, since);
        if (!decoded.ok) throw new AppError('VALIDATION_FAILED', decoded.reason, { path: '/since' });
        after = decoded.seq;
      }
      const page = await app.domain.changes.page(me, after, limit);
      return {
        changes: page.changes.map((c) => ({
          entity: c.entity,
          op: c.op,
          id: c.id,
          ...(c.data !== undefined && c.data !== null ? { data: c.data } : {}),
          at: c.at.toISOString(),
        })),
        cursor: encodeSyncCursor(me, page.lastSeq),
        hasMore: page.hasMore,
      };
    },
  );
}
