// Renders docs/asyncapi.yaml and docs/openapi.json. AsyncAPI comes from @voip/contracts directly;
// OpenAPI from the gateway's own builder, loaded from its build output by path (a package never
// imports an app; the gateway owns which routes are public, so it owns the document's source).
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import { buildAsyncApiDocument } from './asyncapi.js';

export const repoRoot = () => resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Version of the public surface (API.md "v1"), shared by both documents. */
export const API_VERSION = '1';

export interface GeneratedFile {
  /** Path relative to the repository root. */
  path: string;
  content: string;
}

export const GATEWAY_OPENAPI_MODULE = 'apps/gateway/dist/openapi/openapi-document.js';

interface GatewayOpenApiModule {
  buildOpenApiDocument(opts?: { serverUrl?: string; version?: string }): Promise<unknown>;
}

export function renderAsyncApi(): string {
  const header = '# Generated from packages/contracts by `pnpm docs:gen` (packages/docs-gen). Do not edit.\n';
  return (
    header +
    stringify(buildAsyncApiDocument({ version: API_VERSION }), { lineWidth: 0, aliasDuplicateObjects: false })
  );
}

export async function renderOpenApi(root = repoRoot()): Promise<string> {
  const file = join(root, GATEWAY_OPENAPI_MODULE);
  if (!existsSync(file))
    throw new Error(
      `${GATEWAY_OPENAPI_MODULE} is missing: build the gateway first (turbo run build --filter=@voip/gateway...)`,
    );
  const mod = (await import(pathToFileURL(file).href)) as Partial<GatewayOpenApiModule>;
  if (typeof mod.buildOpenApiDocument !== 'function')
    throw new Error(`${GATEWAY_OPENAPI_MODULE} does not export buildOpenApiDocument()`);
  const doc = await mod.buildOpenApiDocument({ version: API_VERSION });
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export async function generateDocs(root = repoRoot()): Promise<GeneratedFile[]> {
  return [
    { path: 'docs/asyncapi.yaml', content: renderAsyncApi() },
    { path: 'docs/openapi.json', content: await renderOpenApi(root) },
  ];
}
