// Floods from one address, through Nginx: connections that never authenticate are refused past
// signaling's per-address limit, open Socket.io connections past Nginx's `limit_conn`, REST requests past
// its `limit_req`, each as JSON RATE_LIMITED; another address connects and calls the API meanwhile.
// Loopback has a whole /8, so each "address" is a different 127.x source address. The door is HTTPS/WSS
// (the stack's CA is trusted in this process); it is reached at 127.0.0.1, which the certificate names
// too, so that `localhost` resolving to ::1 cannot pair an IPv6 destination with a 127.x source.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newClientId } from '@voip/testkit/public-client';

const NGINX_CONN_PER_IP = 6;
const UNAUTHENTICATED_PER_IP = 3;

/** A raw WebSocket upgrade to /socket.io/ from `from` that never sends CONNECT: its status, and the socket. */
function rawUpgrade(base: string, from: string) {
  return new Promise<{ status: number; body: string; socket?: Duplex }>((resolve, reject) => {
    const req = request(new URL('/socket.io/?EIO=4&transport=websocket', base), {
      localAddress: from,
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      },
    });
    req.once('error', reject);
    req.once('upgrade', (res, socket) => {
      socket.on('error', () => undefined);
      resolve({ status: res.statusCode ?? 0, body: '', socket });
    });
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.end();
  });
}

/** An authenticated Socket.io connection from `from`; resolves on `session`. */
async function connectFrom(base: string, token: string, from: string) {
  const clientId = newClientId();
  const socket = io(base, {
    path: '/socket.io',
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: { token, clientId },
    query: { clientId },
    localAddress: from,
  } as Parameters<typeof io>[1]);
  await new Promise<void>((resolve, reject) => {
    socket.once('session', () => resolve());
    socket.once('connect_error', (err) => reject(err));
  });
  return socket;
}

async function guest(base: string, from: string): Promise<string> {
  const res = await postFrom(base, '/api/auth/guest', { displayName: 'Guest' }, from);
  if (res.status !== 201) throw new Error(`guest: ${res.status} ${res.body}`);
  return (JSON.parse(res.body) as { accessToken: string }).accessToken;
}

function postFrom(base: string, path: string, body: unknown, from: string, method = 'POST') {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const data = body === undefined ? '' : JSON.stringify(body);
      const req = request(new URL(path, base), {
        method,
        localAddress: from,
        headers: data
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }
          : {},
      });
      req.once('error', reject);
      req.once('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
      });
      req.end(data);
    },
  );
}

describe('per-address limits through Nginx', () => {
  let stack: Stack;
  let door: string;
  let stateDir: string;
  const held: Duplex[] = [];
  const sockets: { disconnect(): void }[] = [];

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-e2e-edge-'));
    stack = await startStack({
      stateDir,
      services: ['auth', 'signaling', 'gateway'],
      signalingInstances: 1,
      nginx: true,
      coturn: false,
      nginxLimits: { socketConnPerIp: NGINX_CONN_PER_IP, apiReqRate: '2r/s', apiReqBurst: 4 },
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      serviceEnv: {
        gateway: { HEALTH_CHECK_INTERVAL_MS: '200' },
        signaling: { UNAUTHENTICATED_PER_IP: String(UNAUTHENTICATED_PER_IP), CONNECT_TIMEOUT_MS: '20000' },
      },
    });
    expect(stack.url).toMatch(/^https:\/\/localhost:\d+$/);
    door = stack.url.replace('//localhost:', '//127.0.0.1:');
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    for (const s of sockets) s.disconnect();
    await stack?.stopAll();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it("refuses connections that never authenticate past signaling's per-address limit; another address connects", async () => {
    const attacker = '127.0.0.11';
    for (let i = 0; i < UNAUTHENTICATED_PER_IP; i++) {
      const r = await rawUpgrade(door, attacker);
      expect(r.status).toBe(101);
      held.push(r.socket!);
    }
    const refused = await rawUpgrade(door, attacker);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'RATE_LIMITED', message: expect.any(String) },
    });
    // Someone else, at the same time: a raw upgrade and a real client that signs in and connects.
    const other = await rawUpgrade(door, '127.0.0.12');
    expect(other.status).toBe(101);
    other.socket!.destroy();
    const socket = await connectFrom(door, await guest(door, '127.0.0.12'), '127.0.0.12');
    sockets.push(socket);
    const ack = (await socket.timeout(10_000).emitWithAck('heartbeat', {})) as { ok: boolean };
    expect(ack.ok).toBe(true);
  });

  it("refuses open Socket.io connections past Nginx's limit_conn; another address connects", async () => {
    const crowd = '127.0.0.13';
    const token = await guest(door, crowd);
    // Authenticated connections do not count for signaling's limit, only for Nginx's.
    for (let i = 0; i < NGINX_CONN_PER_IP; i++) sockets.push(await connectFrom(door, token, crowd));
    const refused = await rawUpgrade(door, crowd);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({
      error: { code: 'RATE_LIMITED', message: 'too many requests from your address, try again shortly' },
    });
    const elsewhere = await connectFrom(door, token, '127.0.0.14');
    sockets.push(elsewhere);
    expect(elsewhere.connected).toBe(true);
  });

  it("answers a REST flood from one address past Nginx's limit_req with 429 RATE_LIMITED; another address is served", async () => {
    const flood = await Promise.all(
      Array.from({ length: 20 }, () => postFrom(door, '/api/auth/me', undefined, '127.0.0.15', 'GET')),
    );
    const limited = flood.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(10);
    expect(JSON.parse(limited[0]!.body)).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    expect(limited[0]!.headers['retry-after']).toBe('1');
    // The rest reached the gateway (no token: 401), and so does another address now.
    expect(flood.filter((r) => r.status !== 429).every((r) => r.status === 401)).toBe(true);
    expect((await postFrom(door, '/api/auth/me', undefined, '127.0.0.16', 'GET')).status).toBe(401);
  });
});
