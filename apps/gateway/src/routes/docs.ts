// GET /api/docs (a small HTML index) and /api/docs/openapi.json: the public REST surface, built
// once at start-up from the contracts.
import type { FastifyInstance } from 'fastify';
import { buildOpenApiDocument, type OpenApiDocument } from '../openapi/openapi-document.js';

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function renderDocsPage(doc: OpenApiDocument): string {
  const rows: string[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const op = item?.[method];
      if (!op) continue;
      const open = Array.isArray(op.security) && op.security.length === 0;
      rows.push(
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td>` +
          `<td>${escapeHtml(op.summary ?? '')}</td><td>${open ? 'none' : 'bearer'}</td></tr>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(doc.info.title)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}td{padding:.2rem .6rem;border-bottom:1px solid #ddd}</style>
</head><body>
<h1>${escapeHtml(doc.info.title)}</h1>
<p>Machine-readable: <a href="/api/docs/openapi.json">openapi.json</a> (OpenAPI ${escapeHtml(doc.openapi)}).</p>
<table><thead><tr><th>Method</th><th>Path</th><th>What</th><th>Token</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>`;
}

export async function docsRoutes(app: FastifyInstance) {
  const doc = await buildOpenApiDocument();
  const json = JSON.stringify(doc);
  const html = renderDocsPage(doc);
  app.get('/api/docs', async (_request, reply) => reply.type('text/html; charset=utf-8').send(html));
  app.get('/api/docs/openapi.json', async (_request, reply) =>
    reply.type('application/json; charset=utf-8').send(json),
  );
}
