// Other people's profiles: GET /api/users/search, /presence and /:id. Presence comes from the
// signaling service's Redis hashes, one pipeline per request. Login names and presence are shown only to
// people the profile's owner has accepted as contacts; search is limited per principal and matches login
// names only for registered accounts (a guest finds people by display name).
import { errorResponses, Id } from '@voip/contracts/common';
import {
  IdParams,
  PresenceMap,
  PresenceQuery,
  Profile,
  SearchQuery,
  SearchResponse,
} from '@voip/contracts/users';
import { validator } from '@voip/contracts/validate';
import type { App } from '@voip/kit/app';
import { AppError } from '@voip/kit/errors';
import { createFixedWindowLimiter } from '@voip/kit/rate-limit';
import { readPresence, readPresenceAs } from '../../presence/presence-reader.js';
import { toProfile } from '../../profiles/profile-view.js';
import { decodeSearchCursor, encodeSearchCursor, searchKeyOf } from '../../profiles/search.js';

const isId = validator(Id);

/** `a,b,c` → unique ids; a malformed one or too many is a 400 naming the problem. */
export function parseIdList(raw: string, max: number): string[] {
  const ids = [
    ...new Set(
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (ids.length === 0) throw new AppError('VALIDATION_FAILED', 'ids must name at least one user');
  if (ids.length > max) throw new AppError('VALIDATION_FAILED', `at most ${max} ids per request`, { max });
  const bad = ids.find((id) => !isId.check(id));
  if (bad !== undefined)
    throw new AppError('VALIDATION_FAILED', 'ids must be comma-separated user ids', { path: '/ids' });
  return ids;
}

export default async function profileRoutes(app: App) {
  const { searchRateLimit, searchRateWindowMs } = app.domain.limits;
  const searchLimiter = createFixedWindowLimiter(
    app.redis,
    'user-search',
    searchRateLimit,
    searchRateWindowMs,
  );

  app.get(
    '/search',
    {
      preHandler: app.requireAuth(),
      schema: {
        querystring: SearchQuery,
        response: { 200: SearchResponse, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request, reply) => {
      const viewer = request.principal!;
      const decision = await searchLimiter.hit(viewer.id);
      if (!decision.allowed) {
        reply.header('retry-after', String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))));
        throw new AppError('RATE_LIMITED', 'too many searches, try again later');
      }
      const { q, limit = 20, cursor, includeGuests = false } = request.query;
      const after = cursor === undefined ? null : decodeSearchCursor(cursor);
      if (cursor !== undefined && !after)
        throw new AppError('VALIDATION_FAILED', 'cursor is not valid', { path: '/cursor' });
      const found = await app.domain.profiles.search({
        q,
        limit: limit + 1,
        after,
        includeGuests,
        matchUsernames: viewer.kind !== 'guest',
      });
      const page = found.slice(0, limit);
      const last = page.at(-1);
      const seen = await readPresenceAs(
        app.redis,
        page.map((p) => p.id),
        viewer.id,
      );
      return {
        items: page.map((p) => {
          const s = seen.get(p.id);
          return toProfile(p, s?.presence, s?.known ?? false);
        }),
        nextCursor:
          found.length > limit && last
            ? encodeSearchCursor({ name: searchKeyOf(last.displayName), id: last.id })
            : null,
      };
    },
  );

  app.get(
    '/presence',
    {
      preHandler: app.requireAuth(),
      schema: {
        querystring: PresenceQuery,
        response: { 200: PresenceMap, ...errorResponses(400, 401, 503) },
      },
    },
    async (request) => {
      const ids = parseIdList(request.query.ids, app.domain.limits.presenceMaxIds);
      const presence = await readPresence(app.redis, ids, request.principal!.id);
      // fromEntries defines own properties, so an id such as "__proto__" stays a plain key.
      return Object.fromEntries(ids.map((id) => [id, presence.get(id)!]));
    },
  );

  app.get(
    '/:id',
    {
      preHandler: app.requireAuth(),
      schema: { params: IdParams, response: { 200: Profile, ...errorResponses(400, 401, 404, 503) } },
    },
    async (request) => {
      const profile = await app.domain.profiles.get(request.params.id);
      if (!profile) throw new AppError('USER_NOT_FOUND', 'no such user');
      const seen = (await readPresenceAs(app.redis, [profile.id], request.principal!.id)).get(profile.id);
      return toProfile(profile, seen?.presence, seen?.known ?? false);
    },
  );
}
