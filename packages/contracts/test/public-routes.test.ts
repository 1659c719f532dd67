// The public route table: one row per route, each under its service's prefix, with a success answer.
import { describe, expect, it } from 'vitest';
import { publicRoutes, SERVICE_PREFIXES } from '../src/public-routes.js';

describe('public route table', () => {
  it('has one row per method and path', () => {
    const keys = publicRoutes.map((r) => `${r.method} ${r.url}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('puts every route under the prefix of the service it names, with exactly one success status', () => {
    for (const r of publicRoutes) {
      const prefix = SERVICE_PREFIXES[r.service];
      expect(r.url === prefix || r.url.startsWith(`${prefix}/`), r.url).toBe(true);
      expect(
        Object.keys(r.schema.response).filter((s) => s.startsWith('2')),
        r.url,
      ).toHaveLength(1);
    }
  });

  it('declares a params schema exactly for the routes with path parameters', () => {
    for (const r of publicRoutes) expect(r.schema.params !== undefined, r.url).toBe(r.url.includes('/:'));
  });
});
