// The stack under attack and the attacker's tools: the whole system started by @voip/dev-stack/stack with
// Nginx in front (HTTPS and WSS with the stack's local CA, which this process trusts) (real Redis, MongoDB-compatible server, coturn, every service), HTTP and Socket.io
// clients that talk only to Nginx's port from a chosen loopback source address (Nginx, and so every
// per-address limit, sees 127.0.0.x), and a record of every secret the run handled so the logs can be
// searched for them at the end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientToServerEvents, ServerToClientEvents } from '@voip/contracts/socket';
import { type Stack, type StackOptions, startStack } from '@voip/dev-stack/stack';
import { io, type Socket } from 'socket.io-client';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are read loosely and pinned down by the assertions
  body: any;
  text: string;
}

export interface HttpOptions {
  token?: string;
  /** A JSON value to send (serialised here). */
  body?: unknown;
  /** Bytes sent as they are (with content-type application/json unless headers say otherwise). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
  /** Loopback source address (127.0.0.x) the request comes from. */
  from?: string;
}

export interface Account {
  id: string;
  kind: 'user' | 'guest';
  username?: string;
  password?: string;
  displayName: string;
  accessToken: string;
  refreshToken: string;
  /** The source address it registered from, and uses afterwards. */
  from: string;
}

export interface AttackStack {
  stack: Stack;
  base: string;
  stateDir: string;
  /** Every secret seen in this run (tokens, passwords, TURN credentials and secret, internal token). */
  readonly secrets: Map<string, string>;
  remember(what: string, value: string | undefined): void;
  /** A fresh loopback source address, so per-address limits of one actor never touch another's. */
  nextAddress(): string;
  http(method: string, path: string, opts?: HttpOptions): Promise<HttpResult>;
  register(displayName: string, from?: string): Promise<Account>;
  guest(displayName: string, from?: string): Promise<Account>;
  /** Makes two accounts contacts of each other (once the user service knows both). */
  befriend(a: Account, b: Account): Promise<void>;
  connect(account: Account, opts?: { from?: string; clientId?: string }): Promise<ClientSocket>;
  /** Every service process still running and answering /health on its own port. */
  assertAlive(): Promise<void>;
  /** Log lines (any captured file) containing `needle`, case-insensitive. */
  logLinesWith(needle: RegExp): { file: string; line: string }[];
  /** Secrets (by description) found verbatim in any captured log file. */
  leakedSecrets(): { file: string; what: string }[];
  stop(): Promise<void>;
}

export const SERVICES = ['auth', 'user', 'call', 'media', 'signaling', 'gateway'] as const;

let addressCounter = 0;

export async function startAttackStack(options: Partial<StackOptions> = {}): Promise<AttackStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'voip-security-'));
  const stack = await startStack({
    stateDir,
    services: [...SERVICES],
    signalingInstances: 2,
    nginx: true,
    logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'info',
    ...options,
    // The gateway probes its upstreams as they start and may first see them down: probe often.
    serviceEnv: {
      ...options.serviceEnv,
      gateway: { HEALTH_CHECK_INTERVAL_MS: '200', ...options.serviceEnv?.gateway },
    },
  });
  // 127.0.0.1 rather than `localhost` (which may resolve to ::1): requests leave from 127.0.x.y addresses.
  // The certificate names 127.0.0.1 too.
  const base = stack.url.replace('//localhost:', '//127.0.0.1:');
  const baseUrl = new URL(base);
  const secrets = new Map<string, string>();
  const remember = (what: string, value: string | undefined) => {
    // Short values (a 3-letter name) would match by chance; every real secret here is long.
    if (value && value.length >= 12) secrets.set(value, what);
  };
  remember('internal token', stack.internalToken);
  remember('TURN secret', stack.turn?.secret);
  const pemLine = (file: string) => readFileSync(file, 'utf8').split('\n')[1];
  remember('JWT private key', pemLine(join(stateDir, 'secrets', 'jwt-private.pem')));
  remember('TLS private key', pemLine(stack.tls.keyFile));

  const nextAddress = () => {
    const n = addressCounter++;
    return `127.0.${1 + Math.floor(n / 250)}.${2 + (n % 250)}`;
  };

  const http = (method: string, path: string, opts: HttpOptions = {}): Promise<HttpResult> => {
    const payload =
      opts.rawBody !== undefined
        ? Buffer.from(opts.rawBody)
        : opts.body !== undefined
          ? Buffer.from(JSON.stringify(opts.body))
          : undefined;
    const headers: Record<string, string> = {
      ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    };
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: baseUrl.hostname,
          port: baseUrl.port,
          path,
          method,
          headers,
          localAddress: opts.from ?? '127.0.0.1',
          timeout: 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              /* not JSON: keep the text */
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  };

  const register = async (displayName: string, from = nextAddress()): Promise<Account> => {
    const username = `${displayName.toLowerCase().replace(/[^a-z0-9]/g, '')}_${randomBytes(4).toString('hex')}`;
    const password = `pw-${randomBytes(12).toString('base64url')}`;
    const res = await http('POST', '/api/auth/register', {
      body: { username, password, displayName },
      from,
    });
    if (res.status !== 201) throw new Error(`register ${username}: ${res.status} ${res.text}`);
    remember('password', password);
    remember('access token', res.body.accessToken);
    remember('refresh token', res.body.refreshToken);
    return {
      id: res.body.user.id,
      kind: 'user',
      username,
      password,
      displayName,
      accessToken: res.body.accessToken,
      refreshToken: res.body.refreshToken,
      from,
    };
  };

  const guest = async (displayName: string, from = nextAddress()): Promise<Account> => {
    const res = await http('POST', '/api/auth/guest', { body: { displayName }, from });
    if (res.status !== 201) throw new Error(`guest ${displayName}: ${res.status} ${res.text}`);
    remember('access token', res.body.accessToken);
    remember('refresh token', res.body.refreshToken);
    return {
      id: res.body.guest.id,
      kind: 'guest',
      displayName,
      accessToken: res.body.accessToken,
      refreshToken: res.body.refreshToken,
      from,
    };
  };

  const befriend = async (a: Account, b: Account) => {
    for (const [me, other] of [
      [a, b],
      [b, a],
    ] as const) {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const res = await http('PUT', `/api/users/me/contacts/${other.id}`, {
          token: me.accessToken,
          from: me.from,
        });
        if (res.status === 200) break;
        // The user service learns of new accounts from the bus: 404 until it has.
        if (res.status !== 404 || Date.now() > deadline)
          throw new Error(`contact ${me.id} → ${other.id}: ${res.status} ${res.text}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };

  const sockets = new Set<ClientSocket>();
  const connect = async (account: Account, opts: { from?: string; clientId?: string } = {}) => {
    const clientId = opts.clientId ?? `sec${randomBytes(12).toString('hex')}`;
    const socket: ClientSocket = io(base, {
      path: '/socket.io',
      transports: ['websocket'],
      upgrade: false,
      reconnection: false,
      forceNew: true,
      timeout: 20_000,
      auth: { token: account.accessToken, clientId },
      query: { clientId },
      localAddress: opts.from ?? account.from,
    } as Parameters<typeof io>[1]);
    sockets.add(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('session', (s) => {
        remember('resume token', s.resumeToken);
        resolve();
      });
      socket.once('connect_error', (err) =>
        reject(
          Object.assign(new Error(`connect failed: ${err.message}`), {
            data: (err as { data?: unknown }).data,
          }),
        ),
      );
    });
    return socket;
  };

  const assertAlive = async () => {
    for (const p of stack.processes) {
      if (!(SERVICES as readonly string[]).includes(p.name) && p.name !== 'nginx') continue;
      if (p.pid === undefined) throw new Error(`${p.name}#${p.index} has no pid`);
      try {
        process.kill(p.pid, 0);
      } catch {
        // The state folder goes with the stack: the error carries the end of the log (why it died).
        let tail = '';
        try {
          tail = readFileSync(p.logFile, 'utf8').split('\n').slice(-40).join('\n');
        } catch {}
        throw new Error(`${p.name}#${p.index} (pid ${p.pid}) is no longer running; its log ends:\n${tail}`);
      }
      if (p.name === 'nginx') continue;
      const res = await fetch(`${p.url}/health`, { signal: AbortSignal.timeout(10_000) });
      if (res.status !== 200) throw new Error(`${p.name}#${p.index} /health answered ${res.status}`);
    }
  };

  const logDir = join(stateDir, 'logs');
  const logFiles = () => readdirSync(logDir).map((f) => join(logDir, f));
  const logLinesWith = (needle: RegExp) =>
    logFiles().flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => needle.test(line))
        .map((line) => ({ file, line: line.slice(0, 500) })),
    );
  const leakedSecrets = () => {
    const found: { file: string; what: string }[] = [];
    for (const file of logFiles()) {
      const text = readFileSync(file, 'utf8');
      for (const [value, what] of secrets) if (text.includes(value)) found.push({ file, what });
    }
    return found;
  };

  return {
    stack,
    base,
    stateDir,
    secrets,
    remember,
    nextAddress,
    http,
    register,
    guest,
    befriend,
    connect,
    assertAlive,
    logLinesWith,
    leakedSecrets,
    async stop() {
      for (const s of sockets) s.disconnect();
      await stack.stopAll();
      if (!process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/** API.md's error shape: `{error: {code: SNAKE_CASE, message, details?}}` and nothing else. */
export function isApiError(body: unknown): boolean {
  if (typeof body !== 'object' || body === null) return false;
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error') return false;
  const e = (body as { error: unknown }).error;
  if (typeof e !== 'object' || e === null) return false;
  const { code, message } = e as { code?: unknown; message?: unknown };
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) && typeof message === 'string';
}

/** An ack of API.md: `{ok: true, ...}` or `{ok: false, error: {code, message}}`. */
export function isAck(ack: unknown): boolean {
  if (typeof ack !== 'object' || ack === null) return false;
  const a = ack as { ok?: unknown; error?: unknown };
  if (a.ok === true) return true;
  return a.ok === false && isApiError({ error: a.error });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
