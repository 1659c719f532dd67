// Guest sessions, and the housekeeping that removes guests (admin token or internal credential only).
import {
  CleanupBeforeQuery,
  DeletedCount,
  GuestBody,
  GuestIdParams,
  GuestResponse,
} from '@voip/contracts/auth';
import { errorResponses } from '@voip/contracts/common';
import type { App } from '@voip/kit/app';
import { ulid } from 'ulid';
import { deleteGuest, deleteGuests } from '../../accounts/guest-cleanup.js';
import { enforce } from '../../throttling/throttles.js';

export async function guestRoutes(app: App) {
  const { guests, events } = app.accounts;
  const cleanup = { guests, events, sessions: app.sessionService };
  const housekeeping = app.requireInternal({ allowAdmin: true });
  const deletedResponse = { 200: DeletedCount, ...errorResponses(400, 401, 403) };

  app.post(
    '/guest',
    { schema: { body: GuestBody, response: { 201: GuestResponse, ...errorResponses(400, 413, 415, 429) } } },
    async (request, reply) => {
      enforce(
        reply,
        [await app.throttles.guest(request.ip)],
        'too many guest sessions from this address, try again later',
      );
      const now = new Date();
      const guest = await guests.insert({
        id: ulid(),
        displayName: request.body.displayName,
        createdAt: now,
        lastSeenAt: now,
      });
      await events.guestCreated(guest);
      const t = await app.sessionService.issue({
        userId: guest.id,
        kind: 'guest',
        displayName: guest.displayName,
      });
      request.log.info({ userId: guest.id, sid: t.sessionId }, 'guest created');
      return reply.code(201).send({
        guest: { id: guest.id, displayName: guest.displayName },
        accessToken: t.accessToken,
        refreshToken: t.refreshToken,
        expiresIn: t.expiresIn,
      });
    },
  );

  // Static paths win over /guest/:guestId in Fastify's router, so "cleanup" is never taken for an id.
  // The credential is checked on request, before validation: a caller without one learns nothing.
  app.delete(
    '/guest/cleanup-all',
    { onRequest: housekeeping, schema: { response: { 200: DeletedCount, ...errorResponses(401, 403) } } },
    async (request) => ({
      deleted: await deleteGuests(cleanup, {}, request.log),
    }),
  );

  app.delete(
    '/guest/cleanup',
    { onRequest: housekeeping, schema: { querystring: CleanupBeforeQuery, response: deletedResponse } },
    async (request) => ({
      deleted: await deleteGuests(cleanup, { lastSeenBefore: new Date(request.query.before) }, request.log),
    }),
  );

  app.delete(
    '/guest/:guestId',
    { onRequest: housekeeping, schema: { params: GuestIdParams, response: deletedResponse } },
    async (request) => ({ deleted: await deleteGuest(cleanup, request.params.guestId, request.log) }),
  );
}
