// The access log of the built gateway process: one JSON line per request with what an operator
// needs to follow it (request id, route, status, upstream instance, duration), and no credentials.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { keys } from '@voip/contracts/redis-keys';
import { createTokenSigner } from '@voip/kit/jwt';
import { redisUrl, serviceEnv, testKeys } from '@voip/testkit/env';
import { freePort, waitForPort } from '@voip/testkit/servers';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startUpstreamDouble, type UpstreamDouble } from './support/upstream-double.js';

const server = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'server.js');

describe('access log', () => {
  let up: UpstreamDouble;
  let child: ChildProcess;
  let base: string;
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];

  beforeAll(async () => {
    up = await startUpstreamDouble('user-1');
    const port = await freePort();
    child = spawn(process.execPath, [server], {
      env: {
        ...process.env,
        ...serviceEnv({
          PORT: String(port),
          LOG_LEVEL: 'info',
          USER_UPSTREAMS: up.url,
          AUTH_UPSTREAMS: up.url,
          CALL_UPSTREAMS: up.url,
          // Test files share one Redis and one client IP (see support/gateway.ts).
          RATE_LIMIT_CREDENTIALS_MAX: '100000',
          RATE_LIMIT_ANON_MAX: '100000',
        }),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const p of parts) {
        if (!p.trim()) continue;
        raw.push(p);
        lines.push(JSON.parse(p));
      }
    });
    await waitForPort(port);
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await up?.stop();
  });

  it('writes one line per proxied request, with the upstream that answered', async () => {
    const res = await fetch(`${base}/api/auth/login?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'log-req-1' },
      body: JSON.stringify({ username: 'a', password: 'secret-password' }),
    });
    expect(res.status).toBe(200);
    await vi.waitFor(() =>
      expect(lines.some((l) => l.msg === 'access' && l.reqId === 'log-req-1')).toBe(true),
    );
    const access = lines.filter((l) => l.reqId === 'log-req-1');
    expect(access).toHaveLength(1);
    expect(access[0]).toMatchObject({
      level: 30,
      service: 'gateway',
      msg: 'access',
      method: 'POST',
      path: '/api/auth/login',
      route: '/api/auth/*',
      status: 200,
      upstreamService: 'auth',
      upstream: up.url,
      durationMs: expect.any(Number),
    });
    expect(JSON.stringify(lines)).not.toContain('secret-password');
  });

  it('logs refusals at the edge too, without the token', async () => {
    const res = await fetch(`${base}/api/users/me`, {
      headers: { authorization: 'Bearer forged.token.value', 'x-request-id': 'log-req-2' },
    });
    expect(res.status).toBe(401);
    await vi.waitFor(() =>
      expect(lines.some((l) => l.msg === 'access' && l.reqId === 'log-req-2')).toBe(true),
    );
    const line = lines.find((l) => l.msg === 'access' && l.reqId === 'log-req-2');
    expect(line).toMatchObject({ status: 401, upstream: null, path: '/api/users/me' });
    expect(JSON.stringify(lines)).not.toContain('forged.token.value');
  });

  it('names the user of an authenticated request (once), and skips the operational routes', async () => {
    const redis = new Redis(redisUrl());
    const sessionId = `s${Date.now()}`;
    await redis.hset(keys.session(sessionId), { userId: 'log-user-1', kind: 'user', displayName: 'L' });
    await redis.pexpire(keys.session(sessionId), 60_000);
    await redis.quit();
    const token = createTokenSigner(testKeys().privateKey).sign(
      { sub: 'log-user-1', kind: 'user', sid: sessionId },
      300,
    );
    expect((await fetch(`${base}/health`, { headers: { 'x-request-id': 'log-req-3' } })).status).toBe(200);
    const res = await fetch(`${base}/api/users/me`, {
      headers: { authorization: `Bearer ${token}`, 'x-request-id': 'log-req-4' },
    });
    expect(res.status).toBe(200);
    await vi.waitFor(() =>
      expect(lines.some((l) => l.msg === 'access' && l.reqId === 'log-req-4')).toBe(true),
    );
    const line = raw.find((l) => l.includes('"reqId":"log-req-4"') && l.includes('"access"'))!;
    expect(JSON.parse(line)).toMatchObject({ userId: 'log-user-1', status: 200, upstreamService: 'users' });
    expect(line.match(/"userId"/g)).toHaveLength(1);
    expect(line).not.toContain(token);
    expect(lines.filter((l) => l.reqId === 'log-req-3')).toEqual([]);
  });
});
