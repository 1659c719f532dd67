// The OpenAPI document: valid OpenAPI 3.1, covering every route of API.md, and the one /api/docs serves.
import { Validator } from '@seriousme/openapi-schema-validator';
import { publicRoutes } from '@voip/contracts/public-routes';
import type { App } from '@voip/kit/app';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needsToken, tokenlessRoutes } from '../src/edge/edge-auth.js';
import { buildOpenApiDocument, type OpenApiDocument, operationId } from '../src/openapi/openapi-document.js';
import { buildGateway } from './support/gateway.js';

// Every REST route of API.md ("Public surface, v1"), in OpenAPI path syntax.
const API_MD_ROUTES = [
  'post /api/auth/register',
  'post /api/auth/login',
  'post /api/auth/refresh',
  'post /api/auth/logout',
  'get /api/auth/me',
  'post /api/auth/guest',
  'delete /api/auth/guest/cleanup-all',
  'delete /api/auth/guest/{guestId}',
  'delete /api/auth/guest/cleanup',
  'get /api/users/me',
  'patch /api/users/me',
  'get /api/users/{id}',
  'get /api/users/search',
  'get /api/users/presence',
  'get /api/users/me/contacts',
  'put /api/users/me/contacts/{userId}',
  'delete /api/users/me/contacts/{userId}',
  'put /api/users/me/blocks/{userId}',
  'delete /api/users/me/blocks/{userId}',
  'put /api/users/me/devices/{deviceId}',
  'delete /api/users/me/devices/{deviceId}',
  'delete /api/users/guests/cleanup-all',
  'delete /api/users/guests/cleanup',
  'get /api/users/sync/changes',
  'post /api/calls',
  'post /api/calls/initiate',
  'get /api/calls/{callId}',
  'get /api/calls',
  'get /api/calls/ice-servers',
];
// Routes the services add beyond API.md: listing what PUT/DELETE manage, "sign out everywhere", and the
// admin revocation API.md's conventions mention ("revoking a session (..., admin)"), and the operators'
// list of the worst-sounding calls of a period (issue 19), and the media service's recording flow
// (issue 18, docs/RECORDING.md).
const EXTENSIONS = [
  'get /api/users/me/blocks',
  'get /api/users/me/devices',
  'post /api/auth/logout-all',
  'delete /api/auth/sessions/{sessionId}',
  'delete /api/auth/users/{userId}/sessions',
  'get /api/calls/quality/worst',
  'post /api/media/calls/{callId}/recording',
  'post /api/media/calls/{callId}/recording/consent',
  'post /api/media/calls/{callId}/recording/stop',
  'post /api/media/calls/{callId}/recording/publish',
  'post /api/media/calls/{callId}/recording/subscribe',
  'post /api/media/calls/{callId}/recording/subscribe/answer',
  'get /api/media/calls/{callId}/recordings',
  'post /api/media/recordings/{recordingId}/link',
  'get /api/media/recordings/{recordingId}/file',
  'delete /api/media/recordings/{recordingId}',
];

type Operation = {
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
};
const operations = (doc: OpenApiDocument) =>
  Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    Object.entries(item ?? {})
      .filter(([m]) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
      .map(([method, op]) => ({ key: `${method} ${path}`, path, op: op as Operation })),
  );

describe('OpenAPI document', () => {
  let doc: OpenApiDocument;
  beforeAll(async () => {
    doc = await buildOpenApiDocument();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    const result = await new Validator().validate(doc as never);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('documents every route of API.md (plus the known extensions), and nothing else', () => {
    expect(
      operations(doc)
        .map((o) => o.key)
        .sort(),
    ).toEqual([...API_MD_ROUTES, ...EXTENSIONS].sort());
  });

  it('declares every path parameter, request body and error shape', () => {
    for (const { key, path, op } of operations(doc)) {
      const declared = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(declared.sort(), key).toEqual(inPath.sort());
      if (
        key.startsWith('post') ||
        key.startsWith('patch') ||
        key === 'put /api/users/me/devices/{deviceId}'
      ) {
        // Bodiless: the caller and the path say it all.
        const bodiless = [
          'post /api/auth/logout',
          'post /api/auth/logout-all',
          'post /api/media/calls/{callId}/recording',
          'post /api/media/recordings/{recordingId}/link',
        ];
        if (!bodiless.includes(key)) expect(op.requestBody, key).toBeDefined();
      }
      expect(
        Object.keys(op.responses).some((s) => s.startsWith('2')),
        key,
      ).toBe(true);
      expect(JSON.stringify(op.responses), key).toContain('#/components/schemas/ErrorBody');
    }
    expect(doc.components?.schemas?.ErrorBody).toBeDefined();
  });

  it('marks only register, login, refresh, guest and a signed recording link as needing no token', () => {
    const open = operations(doc)
      .filter((o) => Array.isArray(o.op.security) && o.op.security.length === 0)
      .map((o) => o.key)
      .sort();
    expect(open).toEqual([
      'get /api/media/recordings/{recordingId}/file',
      'post /api/auth/guest',
      'post /api/auth/login',
      'post /api/auth/refresh',
      'post /api/auth/register',
    ]);
    expect([...tokenlessRoutes].sort()).toEqual([
      'POST /api/auth/guest',
      'POST /api/auth/login',
      'POST /api/auth/refresh',
      'POST /api/auth/register',
    ]);
    // The signed link (its signature is the credential) by pattern, one id segment; nothing around it.
    expect(needsToken({ method: 'GET', url: '/api/media/recordings/01ABC/file?exp=1&sig=x' })).toBe(false);
    expect(needsToken({ method: 'GET', url: '/api/media/recordings/01ABC/file/x' })).toBe(true);
    expect(needsToken({ method: 'GET', url: '/api/media/recordings/a/b/file' })).toBe(true);
    expect(needsToken({ method: 'DELETE', url: '/api/media/recordings/01ABC' })).toBe(true);
    expect(needsToken({ method: 'POST', url: '/api/media/recordings/01ABC/link' })).toBe(true);
  });

  it('gives every operation a unique id', () => {
    const ids = publicRoutes.map(operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  describe('served by the gateway', () => {
    let app: App;
    beforeAll(async () => {
      app = await buildGateway({
        auth: ['http://127.0.0.1:9'],
        users: ['http://127.0.0.1:9'],
        calls: ['http://127.0.0.1:9'],
      });
    });
    afterAll(() => app?.close());

    it('serves the same document as JSON at /api/docs/openapi.json', async () => {
      const res = await app.inject('/api/docs/openapi.json');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('application/json');
      expect(res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
    });

    it('serves an HTML index at /api/docs listing every route', async () => {
      const res = await app.inject('/api/docs');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/html');
      expect(res.body).toContain('/api/docs/openapi.json');
      for (const r of API_MD_ROUTES) expect(res.body).toContain(`<code>${r.split(' ')[1]}</code>`);
    });
  });
});
