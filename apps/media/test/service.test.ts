// The media service on its own (no Janus running): its config, its routes against the public route table,
// the operational endpoints, and what it answers when Janus is unreachable.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { App } from '@voip/kit/app';
import { ConfigError, parseConfig } from '@voip/kit/config';
import { publicRouteDrift } from '@voip/kit/public-route-drift';
import { serviceEnv } from '@voip/testkit/env';
import { freePort } from '@voip/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { configSpec } from '../src/config.js';
import { createLinkSigner } from '../src/recordings/links.js';

const parseMediaConfig = (source: NodeJS.ProcessEnv) => parseConfig(configSpec, source);

describe('media service', () => {
  let app: App;
  let dir: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'voip-media-unit-'));
    env = serviceEnv({
      // Nothing listens there: Janus is "down".
      JANUS_URL: `http://127.0.0.1:${await freePort()}/janus`,
      JANUS_API_SECRET: 'janus-api-secret-0123456789',
      RECORDINGS_DIR: dir,
      RECORDING_LINK_SECRET: 'recording-link-secret-0123456789',
      JANUS_PROBE_INTERVAL_MS: '200',
      JANUS_TIMEOUT_MS: '300',
    });
    app = await buildApp(parseMediaConfig(env));
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a missing or weak secret at start-up, naming the variable', () => {
    const { JANUS_API_SECRET: _j, ...withoutJanus } = env;
    expect(() => parseMediaConfig(withoutJanus)).toThrow(ConfigError);
    expect(() => parseMediaConfig(withoutJanus)).toThrow(/JANUS_API_SECRET/);
    expect(() => parseMediaConfig({ ...env, RECORDING_LINK_SECRET: 'short' })).toThrow(
      /RECORDING_LINK_SECRET/,
    );
    expect(() => parseMediaConfig({ ...env, JANUS_API_SECRET: 'change-me-janus-0123456789' })).toThrow(
      /placeholder/,
    );
  });

  it('serves exactly the /api/media rows of the public route table', () => {
    expect(publicRouteDrift(app.registeredRoutes, 'media')).toEqual([]);
  });

  it('is ready without Janus, and says so in its metrics', async () => {
    expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toMatch(/^media_janus_up({[^}]*})? 0$/m);
    expect(metrics).toMatch(/^media_rooms_active({[^}]*})? 0$/m);
  });

  it('refuses tokens it cannot verify and bodies that do not fit the closed schemas', async () => {
    const noToken = await app.inject({ method: 'POST', url: '/api/media/calls/c1/recording' });
    expect(noToken.statusCode).toBe(401);
    const badLink = await app.inject({ method: 'GET', url: '/api/media/recordings/r1/file?exp=1&sig=x' });
    expect(badLink.statusCode).toBe(400);
    expect(badLink.json().error.code).toBe('VALIDATION_FAILED');
    const internal = await app.inject({ method: 'GET', url: '/internal/calls/c1/recordings' });
    expect(internal.statusCode).toBe(401);
  });

  it('signs links with HMAC-SHA256 that expire and bind the recording', () => {
    const signer = createLinkSigner('recording-link-secret-0123456789', 60);
    const now = Date.now();
    const { url } = signer.issue('rec1', now);
    const q = new URL(url, 'https://x').searchParams;
    expect(signer.verify('rec1', q.get('exp')!, q.get('sig')!, now)).toBe(true);
    expect(signer.verify('rec2', q.get('exp')!, q.get('sig')!, now)).toBe(false);
    expect(signer.verify('rec1', q.get('exp')!, q.get('sig')!, now + 61_000)).toBe(false);
    expect(signer.verify('rec1', String(Number(q.get('exp')) + 1), q.get('sig')!, now)).toBe(false);
    expect(
      createLinkSigner('another-secret-0123456789abcd', 60).verify('rec1', q.get('exp')!, q.get('sig')!, now),
    ).toBe(false);
  });
});
