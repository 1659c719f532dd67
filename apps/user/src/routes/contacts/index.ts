// The caller's contacts: GET /api/users/me/contacts (with presence), PUT and DELETE
// /me/contacts/:userId (idempotent). Two people who have each other as contacts see each other's
// presence (keys.contactWatchers in Redis); one-sided, the other shows offline. Adding a guest is how a
// user invites it: a contact may ring the user under the `registered` and `contacts` settings.
import { errorResponses } from '@voip/contracts/common';
import { Contact, ContactsResponse, UserIdParams } from '@voip/contracts/users';
import type { App } from '@voip/kit/app';
import { readPresence } from '../../presence/presence-reader.js';
import { setRelation } from '../../relations/relation-service.js';
import { relationDeleteRoute } from '../relation-delete.js';

export default async function contactRoutes(app: App) {
  app.get(
    '/me/contacts',
    {
      preHandler: app.requireAuth(),
      schema: { response: { 200: ContactsResponse, ...errorResponses(401, 503) } },
    },
    async (request) => {
      const me = request.principal!.id;
      const contacts = await app.domain.contacts.listActive(me, app.domain.limits.maxContacts);
      const ids = contacts.map((c) => c.targetId);
      const [profiles, presence] = await Promise.all([
        app.domain.profiles.getMany(ids),
        readPresence(app.redis, ids, me),
      ]);
      return {
        items: contacts.flatMap((c) => {
          const p = profiles.get(c.targetId);
          // A contact whose account is gone (its removal still under way) is not listed.
          if (!p) return [];
          return [
            {
              userId: c.targetId,
              displayName: p.displayName,
              addedAt: c.since.toISOString(),
              presence: presence.get(c.targetId)!,
            },
          ];
        }),
      };
    },
  );

  app.put(
    '/me/contacts/:userId',
    {
      preHandler: app.requireAuth(),
      schema: {
        params: UserIdParams,
        response: { 200: Contact, ...errorResponses(400, 401, 404, 409, 503) },
      },
    },
    async (request) => {
      const me = request.principal!.id;
      const { record } = await setRelation(app.domain, 'contact', me, request.params.userId, true);
      const [profile, presence] = await Promise.all([
        app.domain.profiles.get(record.targetId),
        readPresence(app.redis, [record.targetId], me),
      ]);
      return {
        userId: record.targetId,
        displayName: profile?.displayName ?? '',
        addedAt: record.since.toISOString(),
        presence: presence.get(record.targetId)!,
      };
    },
  );

  relationDeleteRoute(app, 'contact', '/me/contacts/:userId');
}
