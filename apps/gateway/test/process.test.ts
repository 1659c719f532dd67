// The built gateway as an operator runs it: a bad verifying key stops start-up with one line naming the
// variable (no stack trace), and SIGTERM or SIGINT drains a request in flight, then exits 0. The gateway
// stands for every service here: they share the entry point's shape and @voip/kit's start-up and shutdown.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceEnv } from '@voip/testkit/env';
import { freePort, waitForPort } from '@voip/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server.js');

interface Run {
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function run(env: Record<string, string>): Run {
  const child = spawn(process.execPath, [server], {
    env: { ...process.env, ...serviceEnv(env) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited };
}

describe('gateway process', () => {
  let up: UpstreamDouble;
  const upstreams = () => ({
    USER_UPSTREAMS: up.url,
    AUTH_UPSTREAMS: up.url,
    CALL_UPSTREAMS: up.url,
    // Test files share one Redis and one client IP (see support/gateway.ts): no 429 from the others' use.
    RATE_LIMIT_CREDENTIALS_MAX: '100000',
    RATE_LIMIT_ANON_MAX: '100000',
  });
  const running: Run[] = [];
  beforeAll(async () => {
    up = await startUpstreamDouble('user-1');
  });
  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await up.stop();
  });

  it.each([
    ['JWT_PUBLIC_KEY', { JWT_PUBLIC_KEY: 'not a key' }, /^config: JWT_PUBLIC_KEY must hold PEM/],
    [
      'JWT_PUBLIC_KEY_FILE',
      { JWT_PUBLIC_KEY: '', JWT_PUBLIC_KEY_FILE: '/nonexistent/jwt.pub' },
      /^config: JWT_PUBLIC_KEY_FILE names a file that does not exist/,
    ],
    ['neither', { JWT_PUBLIC_KEY: '' }, /^config: JWT_PUBLIC_KEY or JWT_PUBLIC_KEY_FILE is required/],
  ])('a bad verifying key (%s) stops start-up with exit 1 and one line naming it', async (_, env, line) => {
    const r = run({ ...upstreams(), PORT: String(await freePort()), ...env });
    running.push(r);
    expect(await r.exited).toBe(1);
    const lines = r.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s lets a request in flight finish, then exits 0',
    async (signal) => {
      const port = await freePort();
      const r = run({ ...upstreams(), PORT: String(port) });
      running.push(r);
      await waitForPort(port);
      const before = up.received.length;
      const inFlight = fetch(`http://127.0.0.1:${port}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-test-slow': '1' },
        body: '{}',
      });
      await expect.poll(() => up.received.length, { timeout: 5000 }).toBe(before + 1);
      r.child.kill(signal);
      const res = await inFlight;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ upstream: 'user-1', url: '/api/auth/login' });
      expect(await r.exited).toBe(0);
    },
  );
});
