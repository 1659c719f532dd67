// The rotation rule, the meaning of proxy errors, and health probing against real listeners.
import { createServer } from 'node:net';
import { createLogger } from '@voip/kit/logger';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it, vi } from 'vitest';
import {
  classifyUpstreamError,
  marksUpstreamDown,
  mayRetryElsewhere,
} from '../../src/upstreams/upstream-errors.js';
import { createUpstreamPool, nextHealthy, normalizeBaseUrl } from '../../src/upstreams/upstream-pool.js';
import { startUpstreamDouble } from '../support/upstream-double.js';

const log = createLogger('test', 'silent') as FastifyBaseLogger;
const st = (...healthy: boolean[]) => healthy.map((h, i) => ({ url: `http://u${i}`, healthy: h }));

describe('nextHealthy', () => {
  it('rotates over every healthy entry in order', () => {
    const states = st(true, true, true);
    let cursor = -1;
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = nextHealthy(states, cursor);
      seen.push(r.index);
      cursor = r.cursor;
    }
    expect(seen).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('skips unhealthy and excluded entries', () => {
    expect(nextHealthy(st(true, false, true), 0).index).toBe(2);
    expect(nextHealthy(st(true, true, true), -1, new Set(['http://u0'])).index).toBe(1);
  });

  it('says -1 when nothing is left', () => {
    expect(nextHealthy(st(false, false), 0)).toEqual({ index: -1, cursor: 0 });
    expect(nextHealthy(st(true), 0, new Set(['http://u0'])).index).toBe(-1);
    expect(nextHealthy([], 0).index).toBe(-1);
  });
});

describe('normalizeBaseUrl', () => {
  it('keeps the origin only and refuses other schemes', () => {
    expect(normalizeBaseUrl('http://127.0.0.1:3002/')).toBe('http://127.0.0.1:3002');
    expect(() => normalizeBaseUrl('ftp://x')).toThrow(/http/);
    expect(() => normalizeBaseUrl('not a url')).toThrow();
  });
});

describe('upstream error classification', () => {
  const wrap = (code: string, outer = 'FST_REPLY_FROM_INTERNAL_SERVER_ERROR') =>
    Object.assign(new Error('x'), { code: outer, cause: Object.assign(new Error('inner'), { code }) });

  it('tells unreachable, reset and timeout apart through reply-from wrappers', () => {
    expect(classifyUpstreamError(wrap('ECONNREFUSED'))).toBe('unreachable');
    expect(classifyUpstreamError(wrap('UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT'))).toBe(
      'unreachable',
    );
    expect(classifyUpstreamError(wrap('UND_ERR_SOCKET', 'UND_ERR_SOCKET'))).toBe('reset');
    expect(classifyUpstreamError(wrap('UND_ERR_HEADERS_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT'))).toBe(
      'timeout',
    );
    expect(classifyUpstreamError(new Error('boom'))).toBe('other');
    expect(classifyUpstreamError(undefined)).toBe('other');
  });

  it('retries elsewhere only what cannot have been applied', () => {
    expect(mayRetryElsewhere('unreachable', 'POST')).toBe(true);
    expect(mayRetryElsewhere('reset', 'GET')).toBe(true);
    expect(mayRetryElsewhere('reset', 'POST')).toBe(false);
    expect(mayRetryElsewhere('timeout', 'GET')).toBe(false);
    expect(marksUpstreamDown('reset')).toBe(true);
    expect(marksUpstreamDown('timeout')).toBe(false);
  });
});

describe('createUpstreamPool', () => {
  it('marks an instance down on a failed probe and up again when it answers', async () => {
    const a = await startUpstreamDouble('a');
    const b = await startUpstreamDouble('b');
    const changes: string[] = [];
    const pool = createUpstreamPool({
      service: 'users',
      urls: [a.url, `${b.url}/`, a.url],
      probeIntervalMs: 50,
      probeTimeoutMs: 500,
      log,
      onChange: (url, healthy) => changes.push(`${url === a.url ? 'a' : 'b'}:${healthy}`),
    });
    try {
      expect(pool.upstreams.map((u) => u.url)).toEqual([a.url, b.url]);
      pool.start();
      await b.stop();
      await vi.waitFor(() => expect(pool.upstreams[1]?.healthy).toBe(false));
      expect(pool.upstreams[1]?.lastError).toBeTruthy();
      expect([pool.pick(), pool.pick(), pool.pick()]).toEqual([a.url, a.url, a.url]);
      await b.restart();
      await vi.waitFor(() => expect(pool.upstreams[1]?.healthy).toBe(true));
      expect(new Set([pool.pick(), pool.pick()])).toEqual(new Set([a.url, b.url]));
      expect(changes).toEqual(['a:true', 'b:true', 'b:false', 'b:true']);
    } finally {
      pool.stop();
      await a.stop();
      await b.stop();
    }
  });

  it('takes an instance out while its /ready says it cannot serve (its database is down), back when ready', async () => {
    const a = await startUpstreamDouble('a');
    const b = await startUpstreamDouble('b');
    const pool = createUpstreamPool({
      service: 'users',
      urls: [a.url, b.url],
      probeIntervalMs: 50,
      probeTimeoutMs: 500,
      log,
    });
    try {
      pool.start();
      b.setReady(false);
      await vi.waitFor(() => expect(pool.upstreams[1]?.healthy).toBe(false));
      expect(pool.upstreams[1]?.lastError).toBe('ready answered 503');
      expect([pool.pick(), pool.pick(), pool.pick()]).toEqual([a.url, a.url, a.url]);
      b.setReady(true);
      await vi.waitFor(() => expect(pool.upstreams[1]?.healthy).toBe(true));
    } finally {
      pool.stop();
      await a.stop();
      await b.stop();
    }
  });

  it('takes an upstream out after two probes in a row that hang (one may be a busy moment)', async () => {
    // Accepts connections and never answers.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const pool = createUpstreamPool({
      service: 'calls',
      urls: [`http://127.0.0.1:${port}`],
      probeIntervalMs: 60_000,
      probeTimeoutMs: 100,
      log,
    });
    try {
      await pool.probeAll();
      expect(pool.upstreams[0]?.healthy).toBe(true);
      await pool.probeAll();
      expect(pool.upstreams[0]?.healthy).toBe(false);
      expect(pool.upstreams[0]?.lastError).toBe('TimeoutError');
      expect(pool.pick()).toBeNull();
    } finally {
      silent.close();
    }
  });

  it('refuses an empty list', () => {
    expect(() =>
      createUpstreamPool({ service: 'auth', urls: [], probeIntervalMs: 1000, probeTimeoutMs: 100, log }),
    ).toThrow(/no upstreams/);
  });
});
