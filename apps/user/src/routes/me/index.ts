// GET and PATCH /api/users/me: the caller's own profile.
import { errorResponses } from '@voip/contracts/common';
import { OwnProfile, PatchMeBody } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import { ensureOwnProfile, updateOwnProfile } from '../../profiles/profile-service.js';
import { toOwnProfile } from '../../profiles/profile-view.js';

export default async function meRoutes(app: App) {
  app.get(
    '/me',
    {
      preHandler: app.requireAuth(),
      schema: { response: { 200: OwnProfile, ...errorResponses(401, 403, 503) } },
    },
    async (request) => toOwnProfile(await ensureOwnProfile(app.domain, request.principal!)),
  );

  app.patch(
    '/me',
    {
      preHandler: app.requireAuth(),
      schema: { body: PatchMeBody, response: { 200: OwnProfile, ...errorResponses(400, 401, 403, 503) } },
    },
    async (request) => toOwnProfile(await updateOwnProfile(app.domain, request.principal!, request.body)),
  );
}
