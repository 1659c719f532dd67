// readiness_check_ok mirrors /ready per check, evaluated at scrape time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.js';

const app = createApp({ service: 'readiness-metric-test', logLevel: 'silent' });
let redisUp = true;

beforeAll(async () => {
  app.readiness.set('redis', () => {
    if (!redisUp) throw new Error('redis down');
  });
  app.readiness.set('mongo', async () => {});
  await app.ready();
});
afterAll(() => app.close());

const scrape = async () => (await app.inject({ method: 'GET', url: '/metrics' })).body;

describe('readiness_check_ok', () => {
  it('is 1 for each passing check and 0 for a failing one, following the check over time', async () => {
    let body = await scrape();
    expect(body).toMatch(/readiness_check_ok\{check="redis",service="readiness-metric-test"[^}]*\} 1/);
    expect(body).toMatch(/readiness_check_ok\{check="mongo",[^}]*\} 1/);
    redisUp = false;
    body = await scrape();
    expect(body).toMatch(/readiness_check_ok\{check="redis",[^}]*\} 0/);
    expect(body).toMatch(/readiness_check_ok\{check="mongo",[^}]*\} 1/);
    const ready = await app.inject({ method: 'GET', url: '/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json().checks).toEqual({ redis: 'redis down', mongo: 'ok' });
  });
});
