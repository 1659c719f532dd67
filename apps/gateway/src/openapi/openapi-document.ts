// OpenAPI 3.1 of the whole public REST surface, generated from the contract schemas in
// @voip/contracts/public-routes by @fastify/swagger on a throw-away Fastify instance that never listens, so
// scripts (docs export) and the gateway's /api/docs produce the very same document.
import swagger from '@fastify/swagger';
import { ErrorBody } from '@voip/contracts/common';
import { type PublicRoute, publicRoutes } from '@voip/contracts/public-routes';
import Fastify from 'fastify';
import type { OpenAPIV3_1 } from 'openapi-types';

export type OpenApiDocument = OpenAPIV3_1.Document;

const ACCESS_NOTE: Record<PublicRoute['access'], string> = {
  none: 'No token needed.',
  bearer: 'Needs `Authorization: Bearer <accessToken>` (user, guest or admin).',
  admin: 'Needs an admin access token.',
};

export interface OpenApiOptions {
  /** Base URL clients use (Nginx's); defaults to a relative server. */
  serverUrl?: string;
  version?: string;
}

export async function buildOpenApiDocument(opts: OpenApiOptions = {}): Promise<OpenApiDocument> {
  const app = Fastify({ logger: false });
  // Only the schemas are wanted here, not validators or serializers.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'VoIP backend — public REST API',
        version: opts.version ?? '1',
        description:
          'Everything a client uses goes through Nginx: `/api/...` (this document, via the gateway) and ' +
          '`/socket.io/` (signaling). Errors are `{ "error": { "code", "message", "details"? } }`; every ' +
          'response carries `x-request-id`; 429 answers carry `Retry-After`.',
      },
      servers: [{ url: opts.serverUrl ?? '/' }],
      tags: [
        { name: 'auth', description: 'Accounts, guests and sessions' },
        { name: 'users', description: 'Profiles, presence, contacts, blocks, devices, sync' },
        { name: 'calls', description: 'Call set-up, history and ICE servers' },
      ],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => (json.$id as string) || `def-${i}`,
    },
  });
  app.addSchema(ErrorBody);
  for (const r of publicRoutes) {
    app.route({
      method: r.method,
      url: r.url,
      schema: {
        ...r.schema,
        summary: r.summary,
        description: ACCESS_NOTE[r.access],
        tags: [r.service],
        operationId: operationId(r),
        security: r.access === 'none' ? [] : [{ bearer: [] }],
      },
      handler: async () => null,
    });
  }
  await app.ready();
  const doc = app.swagger() as OpenApiDocument;
  await app.close();
  return structuredClone(doc);
}

/** `POST /api/users/me/contacts/:userId` → `putUsersMeContactsUserId`: stable, readable, unique. */
export function operationId(r: Pick<PublicRoute, 'method' | 'url'>): string {
  const words = r.url
    .replace(/^\/api\//, '')
    .split(/[/-]/)
    .filter(Boolean)
    .map((w) => w.replace(/^:/, ''));
  return [r.method.toLowerCase(), ...words.map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}
