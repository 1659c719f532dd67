// The gateway forwards /api/auth/* and documents it from @voip/contracts/public-routes: this service must
// serve exactly those rows, with the same schemas and success statuses.
import { Type } from '@sinclair/typebox';
import { ErrorBody } from '@voip/contracts/common';
import type { RegisteredRoute } from '@voip/kit/app';
import { publicRouteDrift } from '@voip/kit/public-route-drift';
import type { FastifySchema } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AuthApp, startAuth } from '../helpers.js';

describe('auth routes and the public route table', () => {
  let app: AuthApp;
  beforeAll(async () => {
    app = await startAuth();
  });
  afterAll(() => app?.close());

  it('serves every /api route of the table for auth, and nothing else under /api', () => {
    expect(publicRouteDrift(app.registeredRoutes, 'auth')).toEqual([]);
  });

  it('names what drifted: routes on one side only, another schema, other statuses', () => {
    const doctor = (url: string, schema: (s: FastifySchema) => FastifySchema) => (r: RegisteredRoute) =>
      r.url === url ? { ...r, schema: schema(r.schema ?? {}) } : r;
    const response = (s: FastifySchema) => s.response as Record<number, unknown>;
    const doctored: RegisteredRoute[] = app.registeredRoutes
      .filter((r) => r.url !== '/api/auth/me')
      .map(doctor('/api/auth/login', (s) => ({ ...s, body: Type.Object({}) })))
      .map(
        doctor('/api/auth/guest', (s) => ({
          ...s,
          response: Object.fromEntries(
            Object.entries(response(s)).map(([k, v]) => [k === '201' ? '200' : k, v]),
          ),
        })),
      )
      .map(doctor('/api/auth/refresh', (s) => ({ ...s, response: { ...response(s), 409: ErrorBody } })))
      .map(doctor('/api/auth/guest/cleanup', (s) => ({ ...s, response: { 200: response(s)[200] } })));
    doctored.push({ method: 'GET', url: '/api/auth/secret' }, { method: 'GET', url: '/internal/ignored' });
    expect(publicRouteDrift(doctored, 'auth').sort()).toEqual(
      [
        'GET /api/auth/secret: served but not in the public route table',
        'GET /api/auth/me: in the public route table but not served',
        'POST /api/auth/login: body schema differs from the table',
        'POST /api/auth/guest: success status 200 but the table says 201',
        'POST /api/auth/refresh: answers 409 the table does not list',
        'DELETE /api/auth/guest/cleanup: the table lists 400,403 the service never answers',
      ].sort(),
    );
  });
});
