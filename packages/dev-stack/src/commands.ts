// How each local server is started: the command, arguments and environment for Redis, the
// MongoDB-compatible server, coturn and Nginx. One place for both ways of running the stack: startStack
// (tests, `scripts/dev --detach`) and the persistent turbo tasks of `turbo dev` (dev-task.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ferretCommand } from '@voip/testkit/servers';
import type { LocalTls } from './tls.js';

export interface Command {
  cmd: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export function which(cmd: string): string | null {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8', env: process.env }).trim() || null
    );
  } catch {
    return null;
  }
}

/**
 * Persistence: `rdb` (snapshots, the dev default), `aof` (append-only file, what docker-compose runs), or
 * `none` (nothing survives a restart; the fault suite compares the two).
 */
export function redisCommand(
  port: number,
  dir: string,
  persistence: 'rdb' | 'aof' | 'none' = 'rdb',
): Command {
  mkdirSync(dir, { recursive: true });
  const bin = which('redis-server');
  if (!bin) throw new Error('redis-server not found: run ./scripts/setup');
  return {
    cmd: bin,
    args: [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dir,
      '--save',
      persistence === 'none' ? '' : '60 1',
      '--appendonly',
      persistence === 'aof' ? 'yes' : 'no',
    ],
    env: process.env,
  };
}

/** mongod when on PATH, else FerretDB on SQLite (what scripts/setup builds). */
export function mongoCommand(port: number, dir: string): Command & { kind: string } {
  mkdirSync(dir, { recursive: true });
  const mongod = which('mongod');
  const ferret = which('ferretdb');
  if (!mongod && !ferret) throw new Error('no MongoDB-compatible server: run ./scripts/setup');
  if (mongod)
    return {
      kind: 'mongod',
      cmd: mongod,
      args: ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dir, '--quiet'],
      env: process.env,
    };
  // FerretDB over a private PostgreSQL 15 cluster in `dir` when postgresql-15 is installed, else SQLite.
  return { ...ferretCommand(ferret!, dir, port, 'warn'), env: process.env };
}

export interface CoturnOptions {
  root: string;
  dir: string;
  mode: string;
  port: number;
  tlsPort: number;
  realm: string;
  secret: string;
  /** coturn's Redis user db (call-scoped mode): redis://host:port/2. */
  redisUrl: string;
  tls: LocalTls;
}

/**
 * A bash script under infra/ run with the environment plus `env`, in a state folder made first; `bin` not on
 * PATH is an error naming `what` and ./scripts/setup.
 */
function infraScript(
  o: { root: string; dir: string },
  bin: string,
  what: string,
  script: string[],
  env: NodeJS.ProcessEnv,
): Command {
  if (!which(bin)) throw new Error(`${what} not found: run ./scripts/setup`);
  mkdirSync(o.dir, { recursive: true });
  return { cmd: 'bash', args: [join(o.root, 'infra', ...script)], env: { ...process.env, ...env } };
}

/** coturn through infra/coturn/start-dev.sh (turnserver.dev.conf: loopback only, loopback peers allowed). */
export function coturnCommand(o: CoturnOptions): Command {
  return infraScript(o, 'turnserver', 'coturn (turnserver)', ['coturn', 'start-dev.sh'], {
    TURN_MODE: o.mode,
    TURN_PORT: String(o.port),
    TURN_TLS_PORT: String(o.tlsPort),
    TURN_CERT: o.tls.certFile,
    TURN_PKEY: o.tls.keyFile,
    TURN_REALM: o.realm,
    TURN_SECRET: o.secret,
    TURN_REDIS_URL: o.redisUrl,
    TURN_PID_FILE: join(o.dir, 'turnserver.pid'),
    // Its own SQLite file: REST mode stores nothing, but coturn opens one (the default is shared).
    TURN_USERDB: join(o.dir, 'turndb'),
  });
}

/** Per-address limits for a stack whose every client is on loopback (tests, `turbo dev`): out of the way. */
export const LOOPBACK_NGINX_LIMITS = {
  socketConnPerIp: 10_000,
  socketReqRate: '10000r/s',
  socketReqBurst: 10_000,
  apiReqRate: '10000r/s',
  apiReqBurst: 10_000,
};

export interface NginxOptions {
  root: string;
  /** Nginx's folder: rendered config, pid, temp files, the (empty) ACME root. */
  dir: string;
  logs: string;
  port: number;
  httpPort: number;
  tls: LocalTls;
  gatewayPorts: number[];
  signalingPorts: number[];
  /** Where finished recordings are (Nginx serves them after the media service's X-Accel-Redirect). */
  recordingsDir: string;
  /**
   * Per-address limits (infra/nginx/README.md, "Limits"); default: high, since locally every client comes
   * from one loopback address.
   */
  limits?: {
    socketConnPerIp: number;
    socketReqRate: string;
    socketReqBurst: number;
    apiReqRate: string;
    apiReqBurst: number;
  };
  /** Nginx's worker_connections (a proxied client holds two; 16384 holds the soak's thousands of sockets). */
  workerConnections?: number;
}

/** Renders infra/nginx/voip.conf.template for loopback upstreams and writes the main config. */
export function nginxCommand(o: NginxOptions): Command {
  const bin = which('nginx');
  if (!bin) throw new Error('nginx not found: run ./scripts/setup');
  const { dir, logs } = o;
  const limits = o.limits ?? LOOPBACK_NGINX_LIMITS;
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  mkdirSync(join(dir, 'acme'), { recursive: true });
  mkdirSync(logs, { recursive: true });
  chmodSync(dir, 0o755);
  const template = readFileSync(join(o.root, 'infra', 'nginx', 'voip.conf.template'), 'utf8');
  // Signaling servers are never taken out for a 503 (see SIGNALING_SERVER_PARAMS in render-config.mjs).
  const servers = (ports: number[], params = '') =>
    ports.map((q) => `server 127.0.0.1:${q}${params};`).join('\n    ') || 'server 127.0.0.1:1 down;';
  const web = join(o.root, 'apps', 'web');
  const webRoot = join(web, existsSync(join(web, 'dist')) ? 'dist' : 'public');
  writeFileSync(
    join(dir, 'voip.conf'),
    template
      .replaceAll('@@SOCKET_CONN_PER_IP@@', String(limits.socketConnPerIp))
      .replaceAll('@@SOCKET_REQ_RATE@@', limits.socketReqRate)
      .replaceAll('@@SOCKET_REQ_BURST@@', String(limits.socketReqBurst))
      .replaceAll('@@API_REQ_RATE@@', limits.apiReqRate)
      .replaceAll('@@API_REQ_BURST@@', String(limits.apiReqBurst))
      .replaceAll('@@VOIP_PORT@@', String(o.port))
      .replaceAll('@@HTTP_PORT@@', String(o.httpPort))
      .replaceAll('@@HTTPS_PORT_SUFFIX@@', o.port === 443 ? '' : `:${o.port}`)
      .replaceAll('@@TLS_CERT@@', o.tls.certFile)
      .replaceAll('@@TLS_KEY@@', o.tls.keyFile)
      .replaceAll('@@ACME_ROOT@@', join(dir, 'acme'))
      // No HSTS on localhost: browsers would then refuse plain HTTP on every localhost port.
      .replaceAll('@@HSTS@@', '')
      .replaceAll('@@GATEWAY_SERVERS@@', servers(o.gatewayPorts))
      .replaceAll('@@SIGNALING_SERVERS@@', servers(o.signalingPorts, ' max_fails=0'))
      .replaceAll('@@WEB_ROOT@@', webRoot)
      .replaceAll('@@RECORDINGS_DIR@@', o.recordingsDir),
  );
  const isRoot = process.getuid?.() === 0;
  writeFileSync(
    join(dir, 'nginx.conf'),
    `# Generated by packages/dev-stack/src/commands.ts — edit infra/nginx/voip.conf.template instead.
${isRoot ? 'user root;' : ''}
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(logs, 'nginx-error.log')} warn;
events { worker_connections ${o.workerConnections ?? 16384}; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log ${join(logs, 'nginx-access.log')};
  client_body_temp_path ${join(dir, 'tmp', 'body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
  include ${join(dir, 'voip.conf')};
}
`,
  );
  return {
    cmd: bin,
    args: [
      '-p',
      dir,
      '-e',
      join(logs, 'nginx-error.log'),
      '-c',
      join(dir, 'nginx.conf'),
      '-g',
      'daemon off;',
    ],
    env: process.env,
  };
}

export interface JanusOptions {
  root: string;
  /** Janus's folder: the rendered configuration (the secrets are in it: mode 0700). */
  dir: string;
  /** The Janus API (HTTP, loopback) and the admin API. */
  httpPort: number;
  adminPort: number;
  /** UDP ports for media, `min-max`. */
  rtpPorts: string;
  apiSecret: string;
  adminSecret: string;
}

/** Janus through infra/janus/start.sh (HTTP transport and admin API on loopback, VideoRoom only). */
export function janusCommand(o: JanusOptions): Command {
  return infraScript(o, 'janus', 'janus', ['janus', 'start.sh'], {
    JANUS_CONFIG_DIR: join(o.dir, 'conf'),
    JANUS_HTTP_IP: '127.0.0.1',
    JANUS_HTTP_PORT: String(o.httpPort),
    JANUS_ADMIN_PORT: String(o.adminPort),
    JANUS_RTP_PORTS: o.rtpPorts,
    JANUS_API_SECRET: o.apiSecret,
    JANUS_ADMIN_SECRET: o.adminSecret,
    JANUS_DEBUG_LEVEL: process.env.JANUS_DEBUG_LEVEL ?? '3',
  });
}
