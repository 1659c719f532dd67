// DELETE /me/blocks/:userId and /me/contacts/:userId: the same route for either relation (idempotent, 204).
import { errorResponses } from '@voip/contracts/common';
import { UserIdParams } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import { type RelationKind, setRelation } from '../relations/relation-service.js';

export function relationDeleteRoute(app: App, kind: RelationKind, path: string) {
  app.delete(
    path,
    {
      preHandler: app.requireAuth(),
      schema: { params: UserIdParams, response: errorResponses(400, 401, 404, 503) },
    },
    async (request, reply) => {
      await setRelation(app.domain, kind, request.principal!.id, request.params.userId, false);
      return reply.code(204).send();
    },
  );
}
