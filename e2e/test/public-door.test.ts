// Issue 4's acceptance, end to end: Nginx + gateway + auth + user + two signaling instances as real
// processes (built dist/), driven only through Nginx's port.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  type Account,
  type ClientSocket,
  call,
  connect,
  rawGet,
  register,
  type Transport,
} from '@voip/testkit/public-client';

describe('the public door (Nginx in front of gateway and signaling)', () => {
  let stack: Stack;
  let stateDir: string;
  let base: string;
  let alice: Account;
  let bob: Account;
  /** Every socket opened, by user id, so the tests can close all of one user's devices. */
  const sockets = new Map<string, ClientSocket[]>();

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-e2e-'));
    stack = await startStack({
      stateDir,
      services: ['auth', 'user', 'signaling', 'gateway'],
      signalingInstances: 2,
      nginx: true,
      coturn: false,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      serviceEnv: {
        // Info level: the gateway's access log and auth's request log say which address they saw.
        gateway: { HEALTH_CHECK_INTERVAL_MS: '200', LOG_LEVEL: 'info' },
        auth: { LOG_LEVEL: 'info' },
      },
    });
    base = stack.url;
    [alice, bob] = await Promise.all([register(base, 'Alice'), register(base, 'Bob')]);
  });

  afterAll(async () => {
    for (const s of [...sockets.values()].flat()) s.disconnect();
    await stack?.stopAll();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  /** The JSON log lines a service wrote for one request id (pino, one object a line). */
  const logLines = (service: 'gateway' | 'auth', reqId: string) =>
    readFileSync(stack.service(service).logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(reqId))
      .map((l) => JSON.parse(l) as Record<string, unknown> & { reqId?: string })
      .filter((l) => l.reqId === reqId);
  const newReqId = (what: string) => `e2e-${what}-${randomBytes(6).toString('hex')}`;

  const open = async (account: Account, transport: Transport) => {
    const c = await connect(base, account, transport);
    sockets.set(account.id, [...(sockets.get(account.id) ?? []), c.socket]);
    return c;
  };

  it('registers users and serves their REST calls through Nginx → gateway', async () => {
    const me = await call(base, 'GET', '/api/auth/me', { token: alice.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: alice.id });
    // The user service learns of new accounts from the bus; its profile appears shortly after.
    await vi.waitFor(
      async () => {
        const profile = await call(base, 'GET', '/api/users/me', { token: bob.accessToken });
        expect(profile.status).toBe(200);
        expect(profile.body).toMatchObject({ id: bob.id, displayName: 'Bob' });
      },
      { timeout: 15_000, interval: 200 },
    );
    const anonymous = await call(base, 'GET', '/api/users/me');
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('carries a request id from the client to the answer', async () => {
    const res = await call(base, 'GET', '/api/auth/me', {
      token: alice.accessToken,
      headers: { 'x-request-id': 'e2e-req-42' },
    });
    expect(res.headers.get('x-request-id')).toBe('e2e-req-42');
    const generated = await call(base, 'GET', '/api/auth/me', { token: alice.accessToken });
    expect(generated.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9._:-]+$/);
  });

  it.each<Transport>(['websocket', 'polling'])(
    'connects both users over %s and exchanges acks',
    async (transport) => {
      const a = await open(alice, transport);
      const b = await open(bob, transport);
      for (const c of [a, b]) {
        expect(c.socket.io.engine.transport.name).toBe(transport);
        const ack = await c.socket.timeout(10_000).emitWithAck('heartbeat', {});
        expect(ack).toMatchObject({ ok: true, serverTime: expect.any(String) });
      }
    },
  );

  it('keeps long-polling sessions on their instance (sticky routing) for many clients at once', async () => {
    // With two instances and several clientIds, sessions land on both; every one of them must keep
    // working over many polling round trips, which only holds if each request reaches its instance.
    const clients = await Promise.all(
      Array.from({ length: 6 }, (_, i) => open(i % 2 ? bob : alice, 'polling')),
    );
    for (let round = 0; round < 3; round++) {
      const acks = await Promise.all(
        clients.map((c) => c.socket.timeout(10_000).emitWithAck('heartbeat', {})),
      );
      for (const ack of acks) expect(ack).toMatchObject({ ok: true });
    }
    for (const c of clients) {
      expect(c.socket.connected).toBe(true);
      expect(c.socket.io.engine.transport.name).toBe('polling');
    }
    // Both instances really hold sessions (read on each one's own port; /status is not public), so the
    // sticky routing above was tested across two instances. clientIds are random and hashed by Nginx: more
    // polling clients are opened (at most 20 in all) in the unlikely case they all landed on one.
    const statuses = async () =>
      Promise.all(
        [0, 1].map(async (i) => {
          const res = await fetch(`${stack.service('signaling', i).url}/status`);
          return (await res.json()) as { instanceId: string; connections: number };
        }),
      );
    let opened = clients.length;
    while ((await statuses()).some((st) => st.connections === 0) && opened < 20) {
      const c = await open(alice, 'polling');
      expect(await c.socket.timeout(10_000).emitWithAck('heartbeat', {})).toMatchObject({ ok: true });
      opened++;
    }
    const final = await statuses();
    expect(new Set(final.map((st) => st.instanceId)).size).toBe(2);
    for (const st of final) expect(st.connections, st.instanceId).toBeGreaterThan(0);
  });

  it('shows contacts online over REST and pushes presence changes to sockets', async () => {
    for (const [me, other] of [
      [alice, bob],
      [bob, alice],
    ] as const) {
      await vi.waitFor(
        async () => {
          const res = await call(base, 'PUT', `/api/users/me/contacts/${other.id}`, {
            token: me.accessToken,
          });
          expect(res.status, res.text).toBe(200);
        },
        { timeout: 15_000, interval: 200 },
      );
    }
    const watcher = await open(alice, 'websocket');
    await open(bob, 'polling');
    await vi.waitFor(
      async () => {
        const res = await call(base, 'GET', `/api/users/presence?ids=${alice.id},${bob.id}`, {
          token: alice.accessToken,
        });
        expect(res.status).toBe(200);
        expect(res.body[alice.id]?.status).toBe('online');
        expect(res.body[bob.id]?.status).toBe('online');
      },
      { timeout: 10_000, interval: 200 },
    );

    // Bob goes away entirely (every socket of his), then comes back over polling: Alice hears both.
    const seen: string[] = [];
    watcher.socket.on('presence', (p) => {
      if (p.userId === bob.id) seen.push(p.status);
    });
    for (const s of sockets.get(bob.id) ?? []) s.disconnect();
    await vi.waitFor(() => expect(seen).toContain('offline'), { timeout: 15_000, interval: 100 });
    await open(bob, 'polling');
    await vi.waitFor(() => expect(seen.at(-1)).toBe('online'), { timeout: 15_000, interval: 100 });
  });

  it('never lets operational or internal endpoints out', async () => {
    const paths = [
      '/metrics',
      '/health',
      '/ready',
      '/status',
      '/internal/users/x/devices',
      '/api/metrics',
      '/api/users/internal/users/x/reachability',
      '/api/users/%2e%2e/%2e%2e/internal/users/x/devices',
      '/api/../metrics',
      '/api/users/..%2f..%2fmetrics',
      '/api//users/../../internal/users/x/devices',
      '/socket.io/%2e%2e/metrics',
      '/socket.io/../status',
      '/socket.io/status',
      '/api/auth/health',
      '/METRICS',
    ];
    for (const path of paths) {
      const res = await rawGet(base, path, { authorization: `Bearer ${alice.accessToken}` });
      expect(res.status, path).toBe(404);
      expect(res.text, path).not.toMatch(
        /process_cpu|http_request_duration|instanceId|"connections"|"exists"/,
      );
    }
    // The internal credential header from a client is worth nothing.
    const forged = await call(base, 'GET', '/internal/users/x/devices', {
      headers: { 'x-internal-token': stack.internalToken },
    });
    expect(forged.status).toBe(404);
  });

  it('serves the API docs through Nginx', async () => {
    const res = await call(base, 'GET', '/api/docs/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ openapi: '3.1.0' });
    expect(Object.keys(res.body.paths)).toContain('/api/users/presence');
  });

  it('ignores a client-forged X-Forwarded-For: the gateway and auth see the real client address', async () => {
    const reqId = newReqId('xff');
    const res = await call(base, 'GET', '/api/auth/me', {
      token: alice.accessToken,
      headers: {
        'x-request-id': reqId,
        'x-forwarded-for': '203.0.113.7',
        'x-real-ip': '203.0.113.8',
        forwarded: 'for=203.0.113.9',
      },
    });
    expect(res.status).toBe(200);
    // The services trust X-Forwarded-For from loopback (TRUST_PROXY): had Nginx passed the forged
    // address on, it would be their client address, and so every per-IP throttle's key.
    const access = await vi.waitFor(
      () => {
        const line = logLines('gateway', reqId).find((l) => l.msg === 'access');
        expect(line).toBeDefined();
        return line!;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(access).toMatchObject({ path: '/api/auth/me', status: 200, ip: '127.0.0.1' });
    const incoming = await vi.waitFor(
      () => {
        const line = logLines('auth', reqId).find((l) => l.msg === 'incoming request');
        expect(line).toBeDefined();
        return line!;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(incoming).toMatchObject({ req: { remoteAddress: '127.0.0.1' } });
    const everything = JSON.stringify([...logLines('gateway', reqId), ...logLines('auth', reqId)]);
    expect(everything).not.toMatch(/203\.0\.113\./);
  });

  it("answers a body over its own limit itself, in the API's JSON shape; below it the gateway's 413 is the answer", async () => {
    const tooLargeForNginx = newReqId('413-nginx');
    const tooLargeForGateway = newReqId('413-gateway');
    const login = (reqId: string, bytes: number) =>
      call(base, 'POST', '/api/auth/login', {
        headers: { 'x-request-id': reqId },
        body: { username: alice.username, password: 'x'.repeat(bytes) },
      });
    // Over client_max_body_size (128 KiB): Nginx refuses it from the Content-Length alone.
    const huge = await login(tooLargeForNginx, 200 * 1024);
    expect(huge.status).toBe(413);
    expect(huge.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: 'request body is too large' } });
    expect(huge.headers.get('content-type')).toMatch(/^application\/json/);
    expect(huge.headers.get('x-request-id')).toBe(tooLargeForNginx);
    // Between the gateway's 64 KiB and Nginx's 128 KiB: the gateway refuses it, same shape.
    const large = await login(tooLargeForGateway, 100 * 1024);
    expect(large.status).toBe(413);
    expect(large.body).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(large.headers.get('x-request-id')).toBe(tooLargeForGateway);
    // Who answered which: the gateway logs every request it receives, in order. Once the later
    // request's line is there, the earlier one's would be too had it reached the gateway.
    await vi.waitFor(
      () =>
        expect(logLines('gateway', tooLargeForGateway).find((l) => l.msg === 'access')).toMatchObject({
          status: 413,
        }),
      { timeout: 10_000, interval: 100 },
    );
    expect(logLines('gateway', tooLargeForNginx)).toEqual([]);
  });

  it('answers a clean 503 UPSTREAM_UNAVAILABLE when the user service is stopped, and recovers', async () => {
    await stack.stop('user');
    for (let i = 0; i < 3; i++) {
      const res = await call(base, 'GET', '/api/users/me', { token: alice.accessToken });
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        error: { code: 'UPSTREAM_UNAVAILABLE', message: expect.any(String), details: { service: 'users' } },
      });
      expect(res.headers.get('x-request-id')).toBeTruthy();
    }
    // Everything else keeps working.
    expect((await call(base, 'GET', '/api/auth/me', { token: alice.accessToken })).status).toBe(200);
    await stack.restart('user');
    await vi.waitFor(
      async () =>
        expect((await call(base, 'GET', '/api/users/me', { token: alice.accessToken })).status).toBe(200),
      { timeout: 15_000, interval: 200 },
    );
  });

  // Last: it stops the only gateway, which every REST test needs.
  it("answers Nginx's own JSON 503 when the whole gateway pool is down, and recovers", async () => {
    await stack.stop('gateway');
    for (let i = 0; i < 3; i++) {
      const reqId = newReqId('503');
      const res = await call(base, 'GET', '/api/auth/me', {
        token: alice.accessToken,
        headers: { 'x-request-id': reqId },
      });
      expect(res.status).toBe(503);
      // Nginx's answer, not the gateway's (which names the service in `details`).
      expect(res.body).toEqual({
        error: { code: 'UPSTREAM_UNAVAILABLE', message: 'service unavailable, try again' },
      });
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.headers.get('x-request-id')).toBe(reqId);
    }
    // Signaling does not go through the gateway: sockets still connect meanwhile.
    const c = await open(bob, 'websocket');
    expect(await c.socket.timeout(10_000).emitWithAck('heartbeat', {})).toMatchObject({ ok: true });
    await stack.restart('gateway');
    await vi.waitFor(
      async () => {
        const res = await call(base, 'GET', '/api/auth/me', { token: alice.accessToken });
        expect(res.status, res.text).toBe(200);
      },
      { timeout: 15_000, interval: 200 },
    );
  });
});
