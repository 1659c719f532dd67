// The gateway forwards every /api/<service>/* request, and documents (and lets through without a token)
// what the public route table in @voip/contracts says. This compares a service's registered routes with
// its rows of that table, so a route added, renamed or re-typed on one side only fails the service's
// tests instead of going undocumented (or documented but absent).
import { isDeepStrictEqual } from 'node:util';
import { type PublicRoute, type PublicService, publicRoutes } from '@voip/contracts/public-routes';
import type { RegisteredRoute } from './app.js';

const PARTS = ['params', 'querystring', 'body'] as const;

const keyOf = (r: { method: string; url: string }) => `${r.method} ${r.url}`;
/** Fastify registers `/api/calls` and `/api/calls/` for a prefixed `/` route; the table has the first. */
const withoutTrailingSlash = (url: string) => (url.length > 1 && url.endsWith('/') ? url.slice(0, -1) : url);
const statuses = (response: unknown) => Object.keys((response ?? {}) as Record<string, unknown>).sort();
const successStatuses = (response: unknown) => statuses(response).filter((s) => s.startsWith('2'));
/** kit answers these for any route that takes a body; the table leaves them to API.md's conventions. */
const BODY_STATUSES: ReadonlySet<string> = new Set(['413', '415']);
const errorStatuses = (response: unknown) =>
  statuses(response).filter((s) => !s.startsWith('2') && !BODY_STATUSES.has(s));
/** What the gateway answers itself (token at the edge, rate limits, no upstream): listed, never required. */
const GATEWAY_STATUSES: ReadonlySet<string> = new Set(['401', '429', '503']);

/**
 * Every difference between the routes a service registered under `/api/` (HEAD aside: Fastify adds one
 * per GET) and the table's rows for that service: routes on one side only, and for the others a
 * params/querystring/body schema that is not the same, other success statuses, or error statuses the
 * service declares that the table lacks (and the reverse, the gateway's own 401/429/503 aside). Empty
 * when they agree.
 */
export function publicRouteDrift(registered: readonly RegisteredRoute[], service: PublicService): string[] {
  const served = new Map<string, RegisteredRoute>();
  for (const r of registered) {
    if (r.method === 'HEAD' || !r.url.startsWith('/api/')) continue;
    const route = { ...r, url: withoutTrailingSlash(r.url) };
    if (!served.has(keyOf(route))) served.set(keyOf(route), route);
  }
  const rows = new Map<string, PublicRoute>(
    publicRoutes.filter((r) => r.service === service).map((r) => [keyOf(r), r]),
  );
  const drift: string[] = [];
  for (const key of served.keys())
    if (!rows.has(key)) drift.push(`${key}: served but not in the public route table`);
  for (const [key, row] of rows) {
    const route = served.get(key);
    if (!route) {
      drift.push(`${key}: in the public route table but not served`);
      continue;
    }
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    for (const part of PARTS)
      if (!isDeepStrictEqual(schema[part], row.schema[part]))
        drift.push(`${key}: ${part} schema differs from the table`);
    const mine = successStatuses(schema.response);
    const documented = successStatuses(row.schema.response);
    // A route that declares no success response answers 204 without a body.
    if (!isDeepStrictEqual(mine.length > 0 ? mine : ['204'], documented))
      drift.push(
        `${key}: success status ${mine.join(',') || '204'} but the table says ${documented.join(',')}`,
      );
    const declared = errorStatuses(schema.response);
    const listed = errorStatuses(row.schema.response);
    const unlisted = declared.filter((s) => !listed.includes(s));
    if (unlisted.length > 0) drift.push(`${key}: answers ${unlisted.join(',')} the table does not list`);
    const unanswered = listed.filter((s) => !GATEWAY_STATUSES.has(s) && !declared.includes(s));
    if (unanswered.length > 0)
      drift.push(`${key}: the table lists ${unanswered.join(',')} the service never answers`);
  }
  return drift;
}
