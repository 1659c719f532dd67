// Starts the whole system as real processes: Redis, a MongoDB-compatible server, coturn (TURN over UDP,
// TCP and TLS), every built service (N signaling instances) and Nginx in front (HTTPS and WSS with the
// local CA's certificate, HTTP redirecting). `scripts/dev --detach` uses it to run the stack for people;
// the e2e, client and browser tests use it to drive the stack only through Nginx's port, as the Android
// app does.
// Over ~400 lines: one launcher per process kind (Redis, Mongo, coturn, services, Nginx) sharing the
// stack's ports, state dir and stop order; a split is a follow-up of issue 15.
import { type ChildProcess, spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from '@voip/testkit/servers';
import {
  coturnCommand,
  janusCommand,
  LOOPBACK_NGINX_LIMITS,
  mongoCommand,
  nginxCommand,
  redisCommand,
  which,
} from './commands.js';
import { ensureLocalTls, type LocalTls, trustCaInProcess } from './tls.js';

export const SERVICE_NAMES = ['auth', 'user', 'call', 'media', 'signaling', 'gateway'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];
export const TURN_MODES = ['rest', 'call-scoped'] as const;
export type TurnMode = (typeof TURN_MODES)[number];
/** The order the stack stops in (stopAll, and stack-cli --stop): services, then the servers they use. */
export const STOP_ORDER = [
  ...['gateway', 'signaling', 'media', 'call', 'user', 'auth'],
  ...['nginx', 'janus', 'coturn', 'mongo', 'redis'],
];

/** TURN_MODE as given (rest when unset); anything else is an error naming the variable. */
export function parseTurnMode(value: string | undefined): TurnMode {
  const v = value || 'rest';
  if (!(TURN_MODES as readonly string[]).includes(v))
    throw new Error(`TURN_MODE must be one of ${TURN_MODES.join(', ')}, got "${v}"`);
  return v as TurnMode;
}

export interface StackOptions {
  /** Repository root (defaults to the one this file lives in). */
  root?: string;
  /** Where data, keys, logs and pid files go. */
  stateDir: string;
  services?: ServiceName[];
  signalingInstances?: number;
  /** Instances of other services (default 1 each; signaling's count is `signalingInstances`). */
  instances?: Partial<Record<Exclude<ServiceName, 'signaling'>, number>>;
  nginx?: boolean;
  /**
   * Nginx's per-address limits (infra/nginx/voip.conf.template). Every test connects from loopback, so
   * the defaults here are far above production's (infra/nginx/render-config.mjs); a test of the limits
   * sets its own.
   */
  nginxLimits?: Partial<NginxLimits>;
  coturn?: boolean;
  /**
   * Janus (infra/janus/start.sh: HTTP API and admin API on loopback, VideoRoom), which the media service
   * drives. Default: on when the media service is among `services`.
   */
  janus?: boolean;
  /**
   * How coturn checks credentials, and the call service's TURN_MODE with it (they must match):
   * `rest` (default) or `call-scoped`. Also read from `env.TURN_MODE`.
   */
  turnMode?: TurnMode;
  /** Fixed ports (dev); anything not given gets a free port. */
  ports?: Partial<
    Record<
      | 'nginx'
      | 'nginxHttp'
      | 'redis'
      | 'mongo'
      | 'turn'
      | 'turnTls'
      | 'janus'
      | 'janusAdmin'
      | 'media'
      | 'gateway'
      | 'auth'
      | 'user'
      | 'call'
      | 'signaling',
      number
    >
  >;
  /** Use these servers instead of starting Redis / MongoDB. */
  redisUrl?: string;
  mongoUri?: string;
  /**
   * How the stack's own Redis keeps its data across a restart: `rdb` (default: a snapshot every minute
   * and at shutdown), `aof` (what docker-compose runs: `--appendonly yes`, every write logged) or `none`.
   */
  redisPersistence?: 'rdb' | 'aof' | 'none';
  /** Extra environment for every service (e.g. RING_TIMEOUT_MS). */
  env?: Record<string, string>;
  /** Extra environment per service. */
  serviceEnv?: Partial<Record<ServiceName, Record<string, string>>>;
  logLevel?: string;
  /** Restart services when their built files change (node --watch). */
  watch?: boolean;
  /** Start children in their own process group and let them outlive this process. */
  detached?: boolean;
  /**
   * Make this process trust the stack's local CA (fetch, https, ws, socket.io-client), so a test can
   * use `stack.url` as it is. Default true.
   */
  trustCa?: boolean;
  /** How long to wait for each service's /ready. */
  readyTimeoutMs?: number;
  onProgress?: (line: string) => void;
}

export interface NginxLimits {
  socketConnPerIp: number;
  socketReqRate: string;
  socketReqBurst: number;
  apiReqRate: string;
  apiReqBurst: number;
}

const TEST_NGINX_LIMITS: NginxLimits = LOOPBACK_NGINX_LIMITS;

export interface StackProcess {
  name: string;
  index: number;
  pid: number | undefined;
  port: number;
  url: string;
  logFile: string;
}

export interface Stack {
  /**
   * The public base URL: Nginx over HTTPS (`https://localhost:PORT`, WSS on the same port), or the
   * gateway's plain-HTTP URL when nginx is off.
   */
  url: string;
  /** Nginx's plain-HTTP port, which only redirects to `url` (and serves ACME challenges). */
  httpUrl?: string;
  /**
   * The local CA and the certificate Nginx and coturn serve: `tls.caFile` is what a client trusts
   * (NODE_EXTRA_CA_CERTS for a child process, `ca` for Java/Android), `tls.spki` the hash Chromium's
   * --ignore-certificate-errors-spki-list takes.
   */
  tls: LocalTls;
  redisUrl: string;
  mongoUri: string;
  internalToken: string;
  /** coturn: `port` for turn: over UDP and TCP, `tlsPort` for turns: (TLS over TCP). */
  turn?: { port: number; tlsPort: number; secret: string; realm: string; mode: TurnMode };
  /** Janus: its API (`url`, with `apiSecret`), admin API, and the folder recordings are written to. */
  janus?: { url: string; adminUrl: string; apiSecret: string; adminSecret: string; recordingsDir: string };
  processes: StackProcess[];
  service(name: ServiceName, index?: number): StackProcess;
  /** SIGTERM one process and wait for it to exit. */
  stop(name: string, index?: number): Promise<void>;
  /** SIGKILL one process (a crash, not a graceful stop). */
  kill(name: string, index?: number): Promise<void>;
  /** SIGSTOP one process (a frozen VM, a long GC pause): it keeps its sockets but answers nothing. */
  pause(name: string, index?: number): void;
  /** SIGCONT a paused process. */
  resume(name: string, index?: number): void;
  /**
   * Start a process again (after stopping it if it still runs) with the same port, arguments and env,
   * and wait until it is ready (/ready for services, its port for redis, mongo, nginx, coturn).
   */
  restart(name: string, index?: number): Promise<void>;
  /** Stop everything this stack started (services first, then nginx, coturn, databases). */
  stopAll(): Promise<void>;
}

const repoRoot = () => resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The service on the spec's port is the one just started: a port taken by another process between being
 * picked and being bound would otherwise be answered, ready and all, by whatever holds it.
 */
async function expectService(spec: Spec): Promise<void> {
  const res = await fetch(`${spec.url}/health`, { signal: AbortSignal.timeout(5000) });
  const body = (await res.json().catch(() => ({}))) as { service?: unknown; instanceId?: unknown };
  const instanceId = spec.env.INSTANCE_ID;
  if (body.service !== spec.name || (instanceId !== undefined && body.instanceId !== instanceId))
    throw new Error(
      `${spec.url} answers as ${String(body.service)} ${String(body.instanceId)}, not ${spec.name} ${instanceId}: another process took port ${spec.port} (see ${spec.logFile})`,
    );
}

async function waitForHttp(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null)
      throw new Error(`process exited (${child.exitCode}) before ${url} was ready`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
      last = `${res.status} ${await res.text()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms: ${last}`);
}

/** Keys and secrets for a state dir: generated once, reused by later runs of the same dir. */
export function ensureSecrets(stateDir: string): {
  privateKeyFile: string;
  publicKeyFile: string;
  internalToken: string;
  turnSecret: string;
  janusApiSecret: string;
  janusAdminSecret: string;
  recordingLinkSecret: string;
} {
  const dir = join(stateDir, 'secrets');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const privateKeyFile = join(dir, 'jwt-private.pem');
  const publicKeyFile = join(dir, 'jwt-public.pem');
  if (!existsSync(privateKeyFile)) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(privateKeyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), {
      mode: 0o600,
    });
    writeFileSync(publicKeyFile, publicKey.export({ type: 'spki', format: 'pem' }).toString(), {
      mode: 0o644,
    });
  }
  const secret = (name: string) => {
    const f = join(dir, name);
    if (!existsSync(f)) writeFileSync(f, randomBytes(24).toString('base64url'), { mode: 0o600 });
    return readFileSync(f, 'utf8').trim();
  };
  return {
    privateKeyFile,
    publicKeyFile,
    internalToken: secret('internal-token'),
    turnSecret: secret('turn-secret'),
    janusApiSecret: secret('janus-api-secret'),
    janusAdminSecret: secret('janus-admin-secret'),
    recordingLinkSecret: secret('recording-link-secret'),
  };
}

/** The configuration every local service shares: servers, keys, internal token, peers, TURN. */
export function localServiceEnv(o: {
  logLevel: string;
  redisUrl: string;
  mongoUri: string;
  secrets: ReturnType<typeof ensureSecrets>;
  urls: Record<'auth' | 'user' | 'call' | 'media', string[]>;
  turn?: { port: number; tlsPort: number; mode: TurnMode; secret: string; realm: string; redisUrl: string };
}): Record<string, string> {
  const { turn, urls } = o;
  return {
    HOST: '127.0.0.1',
    LOG_LEVEL: o.logLevel,
    REDIS_URL: o.redisUrl,
    MONGODB_URI: o.mongoUri,
    JWT_PUBLIC_KEY_FILE: o.secrets.publicKeyFile,
    INTERNAL_TOKEN: o.secrets.internalToken,
    AUTH_SERVICE_URL: urls.auth[0] ?? '',
    USER_SERVICE_URL: urls.user[0] ?? '',
    CALL_SERVICE_URL: urls.call[0] ?? '',
    MEDIA_SERVICE_URL: urls.media[0] ?? '',
    // Without a media service in this stack, /api/media answers 503 (a closed port), never someone else's.
    MEDIA_UPSTREAMS: urls.media.join(',') || 'http://127.0.0.1:1',
    AUTH_UPSTREAMS: urls.auth.join(','),
    USER_UPSTREAMS: urls.user.join(','),
    CALL_UPSTREAMS: urls.call.join(','),
    ...(turn
      ? {
          TURN_URLS: `turn:127.0.0.1:${turn.port}?transport=udp,turn:127.0.0.1:${turn.port}?transport=tcp`,
          // By name: a TLS client checks the certificate against the host it was given.
          TURNS_URLS: `turns:localhost:${turn.tlsPort}?transport=tcp`,
          STUN_URLS: `stun:127.0.0.1:${turn.port}`,
          TURN_MODE: turn.mode,
          TURN_SECRET: turn.secret,
          TURN_REALM: turn.realm,
          TURN_REDIS_URL: turn.redisUrl,
        }
      : {}),
  };
}

/** The media service's own configuration: Janus, its secrets, the recordings folder. */
export function localMediaEnv(o: {
  janusPort: number;
  secrets: ReturnType<typeof ensureSecrets>;
  recordingsDir: string;
}): Record<string, string> {
  return {
    JANUS_URL: `http://127.0.0.1:${o.janusPort}/janus`,
    JANUS_API_SECRET: o.secrets.janusApiSecret,
    RECORDINGS_DIR: o.recordingsDir,
    RECORDING_LINK_SECRET: o.secrets.recordingLinkSecret,
  };
}

/** What one instance adds: its port, its id, and auth's signing key. */
export function localInstanceEnv(
  service: ServiceName,
  index: number,
  port: number,
  secrets: ReturnType<typeof ensureSecrets>,
): Record<string, string> {
  return {
    PORT: String(port),
    INSTANCE_ID: `${service}-${index + 1}`,
    ...(service === 'auth' ? { JWT_PRIVATE_KEY_FILE: secrets.privateKeyFile } : {}),
  };
}

interface Spec {
  name: string;
  index: number;
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  port: number;
  url: string;
  readyUrl?: string;
  logFile: string;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const root = opts.root ?? repoRoot();
  const state = resolve(opts.stateDir);
  const logs = join(state, 'logs');
  mkdirSync(logs, { recursive: true });
  const progress = opts.onProgress ?? (() => {});
  const services = opts.services ?? [...SERVICE_NAMES];
  const nSignaling = opts.signalingInstances ?? 2;
  const port = async (k: keyof NonNullable<StackOptions['ports']>, offset = 0) => {
    const p = opts.ports?.[k];
    return p !== undefined ? p + offset : freePort();
  };
  const secrets = ensureSecrets(state);
  const tlsFiles = ensureLocalTls(state);
  if (opts.trustCa ?? true) trustCaInProcess(tlsFiles.caFile);
  const running: { spec: Spec; child: ChildProcess }[] = [];

  const launch = (spec: Spec) => {
    const fd = openSync(spec.logFile, 'a');
    const child = spawn(spec.cmd, spec.args, {
      cwd: root,
      // A detached stack outlives the launcher that returns once it is ready: a server that watches its
      // parent (testkit's bin/ferretdb-pg, so a dead test runner leaves no cluster behind) must not here.
      env: opts.detached ? { ...spec.env, VOIP_STOP_WITH_PARENT: '0' } : spec.env,
      stdio: ['ignore', fd, fd],
      detached: Boolean(opts.detached),
    });
    if (opts.detached) child.unref();
    const entry = { spec, child };
    const at = running.findIndex((r) => r.spec.name === spec.name && r.spec.index === spec.index);
    if (at >= 0) running[at] = entry;
    else running.push(entry);
    return child;
  };
  /** One of the stack's own servers (coturn, Janus): launched, then waited for on each of its ports. */
  const launchListening = async (
    name: string,
    command: Pick<Spec, 'cmd' | 'args' | 'env'>,
    listens: number[],
    url: string,
  ) => {
    const logFile = join(logs, `${name}.log`);
    const child = launch({ name, index: 0, ...command, port: listens[0]!, url, logFile });
    await Promise.all(listens.map((p) => waitForPort(p, 15_000))).catch((err) => {
      throw new Error(`${name} did not start (${child.exitCode ?? 'running'}): see ${logFile}: ${err.message}`);
    });
  };

  const stopChild = async (child: ChildProcess, signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(t);
  };

  const stopAll = async () => {
    for (const name of STOP_ORDER) {
      await Promise.all(
        running.filter((r) => r.spec.name === name).map((r) => stopChild(r.child, 'SIGTERM')),
      );
    }
  };

  try {
    // Databases.
    let redisUrl = opts.redisUrl;
    if (!redisUrl) {
      const p = await port('redis');
      launch({
        name: 'redis',
        index: 0,
        ...redisCommand(p, join(state, 'redis'), opts.redisPersistence),
        port: p,
        url: `redis://127.0.0.1:${p}`,
        logFile: join(logs, 'redis.log'),
      });
      await waitForPort(p);
      redisUrl = `redis://127.0.0.1:${p}`;
      progress(`redis      ${redisUrl}`);
    }
    let mongoUri = opts.mongoUri;
    if (!mongoUri) {
      const p = await port('mongo');
      const mongo = mongoCommand(p, join(state, 'mongo'));
      launch({
        name: 'mongo',
        index: 0,
        ...mongo,
        port: p,
        url: `mongodb://127.0.0.1:${p}`,
        logFile: join(logs, 'mongo.log'),
      });
      await waitForPort(p);
      mongoUri = `mongodb://127.0.0.1:${p}/voip`;
      progress(`mongodb    ${mongoUri} (${mongo.kind})`);
    }

    // coturn, started by infra/coturn/start-dev.sh with turnserver.dev.conf (loopback only, loopback
    // peers allowed, so two local browsers can relay to each other), in the call service's TURN mode:
    // REST-API secret, or long-term users in the Redis user db (db 2) the call service writes to.
    let turn: Stack['turn'];
    const turnMode = opts.turnMode ?? parseTurnMode(opts.env?.TURN_MODE);
    const turnRedisUrl = `${redisUrl.replace(/\/\d*$/, '')}/2`;
    if (opts.coturn ?? true) {
      if (which('turnserver')) {
        const p = await port('turn');
        const tlsPort = await port('turnTls');
        const realm = 'voip.local';
        await launchListening(
          'coturn',
          coturnCommand({
            root,
            dir: join(state, 'coturn'),
            mode: turnMode,
            port: p,
            tlsPort,
            realm,
            secret: secrets.turnSecret,
            redisUrl: turnRedisUrl,
            tls: tlsFiles,
          }),
          [p, tlsPort],
          `turn:127.0.0.1:${p}`,
        );
        turn = { port: p, tlsPort, secret: secrets.turnSecret, realm, mode: turnMode };
        progress(`coturn     turn:127.0.0.1:${p}, turns:localhost:${tlsPort} (${turnMode})`);
      } else progress('coturn     not installed: skipped (run ./scripts/setup)');
    }

    // Janus, started by infra/janus/start.sh (loopback HTTP API and admin API, VideoRoom only), writing
    // recordings into the stack's folder, which the media service post-processes and Nginx serves from.
    let janus: Stack['janus'];
    const recordingsDir = join(state, 'recordings');
    mkdirSync(recordingsDir, { recursive: true });
    if (opts.janus ?? services.includes('media')) {
      const p = await port('janus');
      const adminPort = await port('janusAdmin');
      // A range of its own per stack (ports are only taken while a call is recorded).
      const rtpBase = opts.ports?.janus ? 20000 : 40000 + Math.floor(Math.random() * 100) * 200;
      await launchListening(
        'janus',
        janusCommand({
          root,
          dir: join(state, 'janus'),
          httpPort: p,
          adminPort,
          rtpPorts: `${rtpBase}-${rtpBase + 199}`,
          apiSecret: secrets.janusApiSecret,
          adminSecret: secrets.janusAdminSecret,
        }),
        [p, adminPort],
        `http://127.0.0.1:${p}/janus`,
      );
      janus = {
        url: `http://127.0.0.1:${p}/janus`,
        adminUrl: `http://127.0.0.1:${adminPort}/admin`,
        apiSecret: secrets.janusApiSecret,
        adminSecret: secrets.janusAdminSecret,
        recordingsDir,
      };
      progress(`janus      ${janus.url} (admin ${janus.adminUrl}; RTP ${rtpBase}-${rtpBase + 199})`);
    }

    // Services.
    const ports: Record<string, number[]> = {};
    for (const s of services) {
      const n = s === 'signaling' ? nSignaling : (opts.instances?.[s] ?? 1);
      ports[s] = [];
      for (let i = 0; i < n; i++) ports[s].push(await port(s, i));
    }
    const urlOf = (s: ServiceName) => (ports[s] ?? []).map((p) => `http://127.0.0.1:${p}`);
    const common: NodeJS.ProcessEnv = {
      ...process.env,
      ...localServiceEnv({
        logLevel: opts.logLevel ?? 'info',
        redisUrl,
        mongoUri,
        secrets,
        urls: { auth: urlOf('auth'), user: urlOf('user'), call: urlOf('call'), media: urlOf('media') },
        ...(turn ? { turn: { ...turn, redisUrl: turnRedisUrl } } : {}),
      }),
      ...opts.env,
    };
    const specs: Spec[] = [];
    for (const s of services) {
      (ports[s] ?? []).forEach((p, i) => {
        const env: NodeJS.ProcessEnv = {
          ...common,
          ...localInstanceEnv(s, i, p, secrets),
          ...(s === 'media'
            ? localMediaEnv({
                janusPort: Number(new URL(janus?.url ?? 'http://127.0.0.1:1').port),
                secrets,
                recordingsDir,
              })
            : {}),
          ...opts.serviceEnv?.[s],
        };
        const entry = join(root, 'apps', s, 'dist', 'server.js');
        if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (pnpm build)`);
        specs.push({
          name: s,
          index: i,
          cmd: process.execPath,
          args: [
            ...(opts.watch ? ['--watch', '--watch-preserve-output'] : []),
            '--enable-source-maps',
            entry,
          ],
          env,
          port: p,
          url: `http://127.0.0.1:${p}`,
          readyUrl: `http://127.0.0.1:${p}/ready`,
          logFile: join(logs, `${s}${s === 'signaling' || i > 0 ? `-${i + 1}` : ''}.log`),
        });
      });
    }
    // The services start together; the gateway starts once they are ready, so its first health probe
    // finds them up instead of answering 503 until its next probe.
    const startAndWait = (spec: Spec) => {
      const child = launch(spec);
      return waitForHttp(spec.readyUrl!, opts.readyTimeoutMs ?? 60_000, child)
        .then(() => expectService(spec))
        .then(() =>
          progress(
            `${spec.name.padEnd(10)} ${spec.url}${spec.name === 'signaling' ? ` (instance ${spec.index + 1})` : ''}`,
          ),
        );
    };
    await Promise.all(specs.filter((s) => s.name !== 'gateway').map(startAndWait));
    await Promise.all(specs.filter((s) => s.name === 'gateway').map(startAndWait));

    // Nginx, the one public door.
    let publicUrl = urlOf('gateway')[0] ?? '';
    let httpUrl: string | undefined;
    if (opts.nginx ?? true) {
      const p = await port('nginx');
      const httpPort = await port('nginxHttp');
      const nginx = nginxCommand({
        root,
        dir: join(state, 'nginx'),
        logs,
        port: p,
        httpPort,
        tls: tlsFiles,
        gatewayPorts: ports.gateway ?? [],
        recordingsDir,
        signalingPorts: ports.signaling ?? [],
        limits: { ...TEST_NGINX_LIMITS, ...opts.nginxLimits },
      });
      const child = launch({
        name: 'nginx',
        index: 0,
        ...nginx,
        port: p,
        url: `https://localhost:${p}`,
        logFile: join(logs, 'nginx.log'),
      });
      await Promise.all([waitForPort(p, 15_000), waitForPort(httpPort, 15_000)]).catch((err) => {
        throw new Error(
          `nginx did not start (${child.exitCode ?? 'running'}): see ${join(logs, 'nginx-error.log')}: ${err.message}`,
        );
      });
      publicUrl = `https://localhost:${p}`;
      httpUrl = `http://localhost:${httpPort}`;
      progress(`nginx      ${publicUrl} (CA ${tlsFiles.caFile}; ${httpUrl} redirects)`);
    }

    const find = (name: string, index = 0) => {
      const r = running.find((x) => x.spec.name === name && x.spec.index === index);
      if (!r) throw new Error(`no process ${name}#${index} in this stack`);
      return r;
    };
    const asProcess = (r: { spec: Spec; child: ChildProcess }): StackProcess => ({
      name: r.spec.name,
      index: r.spec.index,
      pid: r.child.pid,
      port: r.spec.port,
      url: r.spec.url,
      logFile: r.spec.logFile,
    });
    const stack: Stack = {
      url: publicUrl,
      ...(httpUrl ? { httpUrl } : {}),
      tls: tlsFiles,
      redisUrl,
      mongoUri,
      internalToken: secrets.internalToken,
      ...(turn ? { turn } : {}),
      ...(janus ? { janus } : {}),
      get processes() {
        return running.map(asProcess);
      },
      service: (name, index = 0) => asProcess(find(name, index)),
      stop: (name, index = 0) => stopChild(find(name, index).child, 'SIGTERM'),
      kill: (name, index = 0) => stopChild(find(name, index).child, 'SIGKILL'),
      pause: (name, index = 0) => void find(name, index).child.kill('SIGSTOP'),
      resume: (name, index = 0) => void find(name, index).child.kill('SIGCONT'),
      async restart(name, index = 0) {
        const r = find(name, index);
        r.child.kill('SIGCONT');
        await stopChild(r.child, 'SIGTERM');
        const child = launch(r.spec);
        if (r.spec.readyUrl) {
          await waitForHttp(r.spec.readyUrl, opts.readyTimeoutMs ?? 60_000, child);
          await expectService(r.spec);
        } else await waitForPort(r.spec.port, 15_000);
      },
      stopAll,
    };
    writeFileSync(
      join(state, 'stack.json'),
      JSON.stringify(
        {
          url: publicUrl,
          caFile: tlsFiles.caFile,
          processes: running.map(asProcess),
          startedAt: new Date().toISOString(),
        },
        null,
        2,
      ),
    );
    return stack;
  } catch (err) {
    await stopAll();
    throw err;
  }
}
