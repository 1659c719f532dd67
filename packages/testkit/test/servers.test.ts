import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { describe, expect, it } from 'vitest';
import setup from '../src/global-setup.js';
import {
  ferretBackend,
  ferretdbPgScript,
  freePort,
  mongoUriFor,
  startMongo,
  startRedis,
  waitForPort,
} from '../src/servers.js';

describe('testkit servers', () => {
  it('starts a real redis-server on a free port and removes it after', async () => {
    const srv = await startRedis();
    const redis = new Redis(srv.url);
    expect(await redis.ping()).toBe('PONG');
    await redis.quit();
    expect(existsSync(srv.dir)).toBe(true);
    await srv.stop();
    // Its temp dir went with it.
    expect(existsSync(srv.dir)).toBe(false);
    const dead = new Redis(srv.url, {
      lazyConnect: true,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    dead.on('error', () => {}); // the refusal is what is expected; connect() rejects with it
    await expect(dead.connect()).rejects.toThrow();
    dead.disconnect();
  });

  it('starts a MongoDB wire-protocol server that stores and finds documents', async () => {
    const srv = await startMongo();
    const conn = await mongoose.createConnection(mongoUriFor(srv.url, 'kit')).asPromise();
    await conn.collection('things').insertOne({ name: 'probe', n: 1 });
    expect(await conn.collection('things').findOne({ name: 'probe' })).toMatchObject({ n: 1 });
    await conn.close();
    await srv.stop();
  }, 30_000);

  it('global setup uses the servers REDIS_URL and MONGODB_URI name instead of starting its own', async () => {
    const saved = { REDIS_URL: process.env.REDIS_URL, MONGODB_URI: process.env.MONGODB_URI };
    process.env.REDIS_URL = 'redis://127.0.0.1:1';
    process.env.MONGODB_URI = 'mongodb://127.0.0.1:1';
    try {
      const teardown = await setup();
      // Servers it started would have replaced these with their own URLs.
      expect(process.env.REDIS_URL).toBe('redis://127.0.0.1:1');
      expect(process.env.MONGODB_URI).toBe('mongodb://127.0.0.1:1');
      await teardown();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('global setup starts both servers when nothing is named, and its teardown stops them', async () => {
    const saved = { REDIS_URL: process.env.REDIS_URL, MONGODB_URI: process.env.MONGODB_URI };
    delete process.env.REDIS_URL;
    delete process.env.MONGODB_URI;
    try {
      const teardown = await setup();
      const url = process.env.REDIS_URL ?? '';
      expect(url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(process.env.MONGODB_URI).toMatch(/^mongodb:\/\/127\.0\.0\.1:\d+$/);
      const redis = new Redis(url);
      expect(await redis.ping()).toBe('PONG');
      await redis.quit();
      await teardown();
      const dead = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      dead.on('error', () => {}); // the refusal is what is expected; connect() rejects with it
      await expect(dead.connect()).rejects.toThrow();
      dead.disconnect();
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 30_000);
});

describe('bin/ferretdb-pg and its parent', () => {
  // A launcher that starts the server in the background and exits at once, as `./scripts/dev --detach`
  // does: with VOIP_STOP_WITH_PARENT=0 the server stays; by default (a test runner that died) it stops.
  async function launchedThenOrphaned(stopWithParent: '0' | '1') {
    if (ferretBackend() !== 'pg') throw new Error('postgresql-15 is not installed: run ./scripts/setup');
    const dir = mkdtempSync(join(tmpdir(), 'voip-pg-parent-'));
    const port = await freePort();
    const launcher = spawnSync(
      'sh',
      // The launcher lives a second, so the script knows it as its parent, then exits.
      ['-c', `"$0" "$1" "$2" >/dev/null 2>&1 & echo $!; sleep 1`, ferretdbPgScript, dir, String(port)],
      { env: { ...process.env, VOIP_STOP_WITH_PARENT: stopWithParent }, encoding: 'utf8' },
    );
    const pid = Number(launcher.stdout.trim());
    // Up (the launcher is gone by now), then 3 s: the script looks at its parent every second.
    await waitForPort(port, 30_000);
    await new Promise((r) => setTimeout(r, 3000));
    const alive = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await new Promise((r) => setTimeout(r, 1500));
    rmSync(dir, { recursive: true, force: true });
    return alive;
  }

  it('outlives a launcher that exits when told to (a detached dev stack), and stops with it otherwise', async () => {
    expect(await launchedThenOrphaned('0')).toBe(true);
    expect(await launchedThenOrphaned('1')).toBe(false);
  }, 90_000);
});
