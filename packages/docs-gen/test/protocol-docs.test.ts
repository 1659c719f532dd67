// The committed protocol documents must be what the generator produces from today's contracts, and
// must be valid documents of their specs (AsyncAPI 3.0.0, OpenAPI 3.x).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { BusEvents } from '@voip/contracts/bus-events';
import { channels, streams } from '@voip/contracts/redis-keys';
import { ClientEventSchemas, ServerEventSchemas } from '@voip/contracts/socket';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildAsyncApiDocument } from '../src/asyncapi.js';
import { generateDocs, repoRoot } from '../src/generate.js';

const root = repoRoot();
const require = createRequire(import.meta.url);

// biome-ignore lint/suspicious/noExplicitAny: the tests walk untyped JSON documents
type Doc = Record<string, any>;

function resolvePointer(doc: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`external $ref ${ref}`);
  return ref
    .slice(2)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node && typeof node === 'object' ? (node as Doc)[key] : undefined), doc);
}

function collectRefs(node: unknown, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const n of node) collectRefs(n, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

describe('generated protocol documents', () => {
  it('docs/asyncapi.yaml and docs/openapi.json match the contracts (run `pnpm docs:gen` if this fails)', async () => {
    for (const f of await generateDocs(root)) {
      const committed = readFileSync(join(root, f.path), 'utf8');
      expect(committed, `${f.path} is stale: run pnpm docs:gen`).toBe(f.content);
    }
  });

  it('the AsyncAPI document is valid against the AsyncAPI 3.0.0 JSON Schema', () => {
    const specDir = dirname(require.resolve('@asyncapi/specs/package.json'));
    const schema = JSON.parse(readFileSync(join(specDir, 'schemas', '3.0.0-without-$id.json'), 'utf8'));
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats.default(ajv);
    const validate = ajv.compile(schema);
    const doc = parse(readFileSync(join(root, 'docs/asyncapi.yaml'), 'utf8'));
    const ok = validate(doc);
    expect(ok ? [] : validate.errors?.slice(0, 5)).toEqual([]);
  });

  it('names the public door as it is served: WSS through Nginx on the default HTTPS port', () => {
    const doc = parse(readFileSync(join(root, 'docs/asyncapi.yaml'), 'utf8'));
    expect(doc.servers.public).toMatchObject({ host: 'localhost', protocol: 'wss', pathname: '/socket.io' });
  });

  it('every $ref in the AsyncAPI document resolves', () => {
    const doc = buildAsyncApiDocument({ version: '1' }) as Doc;
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(50);
    const broken = refs.filter((r) => resolvePointer(doc, r) === undefined);
    expect(broken).toEqual([]);
  });

  it('documents every socket event in both directions, with acks for client events', () => {
    const doc = buildAsyncApiDocument({ version: '1' }) as Doc;
    const messageNames = Object.values(doc.components.messages as Doc).map((m) => (m as Doc).name);
    for (const e of [...Object.keys(ClientEventSchemas), ...Object.keys(ServerEventSchemas)])
      expect(messageNames).toContain(e);
    const receives = Object.values(doc.operations as Doc).filter(
      (o) => (o as Doc).action === 'receive',
    ) as Doc[];
    expect(receives).toHaveLength(Object.keys(ClientEventSchemas).length);
    for (const op of receives) expect(op.reply?.messages?.length).toBe(1);
  });

  it('places every bus event on a stream or a pub/sub channel, inside the envelope', () => {
    const doc = buildAsyncApiDocument({ version: '1' }) as Doc;
    const chans = Object.values(doc.channels as Doc) as Doc[];
    const addresses = chans.map((c) => c.address);
    for (const s of Object.values(streams)) expect(addresses).toContain(s);
    for (const type of Object.keys(BusEvents)) {
      const carriers = chans.filter((c) =>
        Object.values(c.messages as Doc).some((m) => {
          const msg = resolvePointer(doc, (m as Doc).$ref) as Doc;
          return msg.name === type;
        }),
      );
      expect(carriers.length, type).toBeGreaterThan(0);
      for (const c of carriers) expect([...Object.values(streams), channels.bus(type)]).toContain(c.address);
      const message = Object.values(doc.components.messages as Doc).find(
        (m) => (m as Doc).name === type,
      ) as Doc;
      const payload = resolvePointer(doc, message.payload.$ref) as Doc;
      expect(Object.keys(payload.properties)).toEqual(['v', 'type', 'id', 'source', 'at', 'data']);
      expect(payload.properties.type.const).toBe(type);
    }
  });

  it('the OpenAPI document is a valid OpenAPI 3 document with the public routes', async () => {
    const doc = JSON.parse(readFileSync(join(root, 'docs/openapi.json'), 'utf8')) as Doc;
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const paths = Object.keys(doc.paths);
    for (const p of ['/api/auth/register', '/api/auth/login', '/api/users/me', '/api/calls/']) {
      expect(
        paths.some((x) => x === p || x === p.replace(/\/$/, '')),
        p,
      ).toBe(true);
    }
  });
});
