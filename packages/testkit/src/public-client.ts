// What a client of the public door does (e2e/ and apps/media tests): JSON over HTTP to /api/..., Socket.io to /socket.io/, and
// nothing else — the tests act only through Nginx's port, like the Android app.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { ClientToServerEvents, ServerToClientEvents } from '@voip/contracts/socket';
import { io, type Socket } from 'socket.io-client';

export interface HttpResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

// biome-ignore lint/suspicious/noExplicitAny: answers are read loosely here and pinned down by the assertions
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<HttpResult<T>> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON: keep the text */
  }
  return { status: res.status, headers: res.headers, body: body as T, text };
}

/** A GET whose path goes on the wire exactly as written (fetch would normalise `..` and `%2e`). */
export function rawGet(
  base: string,
  rawPath: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(base);
  // The stack's process trusts its CA (startStack), so https needs no options here.
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: rawPath, method: 'GET', headers, timeout: 20_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${rawPath} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export interface Account {
  id: string;
  username: string;
  accessToken: string;
}

export async function register(base: string, displayName: string): Promise<Account> {
  const username = `${displayName.toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const res = await call(base, 'POST', '/api/auth/register', {
    body: { username, password: 'correct horse battery', displayName },
  });
  if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${res.text}`);
  // As an app does right after signing up: its own profile. That makes the profile now if the account
  // event is still on its way to the user service, so others can call the new user at once (a test that
  // calls a user a few milliseconds old otherwise races the account stream: USER_NOT_FOUND under load).
  const me = await call(base, 'GET', '/api/users/me', { token: res.body.accessToken });
  if (me.status !== 200) throw new Error(`GET /api/users/me for ${username}: ${me.status} ${me.text}`);
  return { id: res.body.user.id, username, accessToken: res.body.accessToken };
}

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type Transport = 'websocket' | 'polling';

export const newClientId = () => `e2e${randomBytes(12).toString('hex')}`;

/**
 * Connects over exactly one transport (no upgrade) and resolves on the server's `session` event.
 * The clientId also goes into the query string: Nginx keys polling stickiness on it.
 */
export async function connect(
  base: string,
  account: Account,
  transport: Transport,
  clientId = newClientId(),
) {
  const socket: ClientSocket = io(base, {
    path: '/socket.io',
    transports: [transport],
    upgrade: false,
    reconnection: false,
    forceNew: true,
    timeout: 10_000,
    auth: { token: account.accessToken, clientId },
    query: { clientId },
  });
  const session = await new Promise<{ sessionId: string }>((resolve, reject) => {
    socket.once('session', resolve);
    socket.once('connect_error', (err) => reject(new Error(`${transport} connect failed: ${err.message}`)));
  });
  return { socket, session, clientId, transport };
}
