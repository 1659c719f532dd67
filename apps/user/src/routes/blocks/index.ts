// The caller's blocks: GET /api/users/me/blocks, PUT and DELETE /me/blocks/:userId (idempotent).
// A block is mirrored into Redis (keys.blocks) where call set-up checks it, and hides the blocker's
// presence from the blocked person.
import { errorResponses } from '@voip/contracts/common';
import { Block, BlocksResponse, UserIdParams } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import { setRelation } from '../../relations/relation-service.js';
import { relationDeleteRoute } from '../relation-delete.js';

const MAX_LISTED = 10_000;

export default async function blockRoutes(app: App) {
  app.get(
    '/me/blocks',
    {
      preHandler: app.requireAuth(),
      schema: { response: { 200: BlocksResponse, ...errorResponses(401, 503) } },
    },
    async (request) => {
      const blocks = await app.domain.blocks.listActive(request.principal!.id, MAX_LISTED);
      return { items: blocks.map((b) => ({ userId: b.targetId, blockedAt: b.since.toISOString() })) };
    },
  );

  app.put(
    '/me/blocks/:userId',
    {
      preHandler: app.requireAuth(),
      schema: { params: UserIdParams, response: { 200: Block, ...errorResponses(400, 401, 404, 503) } },
    },
    async (request) => {
      const { record } = await setRelation(
        app.domain,
        'block',
        request.principal!.id,
        request.params.userId,
        true,
      );
      return { userId: record.targetId, blockedAt: record.since.toISOString() };
    },
  );

  relationDeleteRoute(app, 'block', '/me/blocks/:userId');
}
