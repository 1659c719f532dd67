// `turbo dev`'s tasks (see packages/dev-stack/turbo.json and README.md). Every task derives the same local
// configuration from the environment (ports, TURN_MODE, LOG_LEVEL, VOIP_STATE) and the state folder
// (keys, internal token, TLS), so no service ever starts without its configuration:
//   node dist/dev.js prepare            keys, secrets, local CA and certificate in the state folder (once)
//   node dist/dev.js server <name>      redis | mongo | coturn | janus | nginx in the foreground
//   node dist/dev.js service <name>     tsc --watch of the app and its instance(s) under node --watch
//   node dist/dev.js ready              waits for the public door and prints where everything is
// Each runs in the foreground, passes SIGINT/SIGTERM to what it started and exits when they have exited,
// so turbo's Ctrl-C leaves no process behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { coturnCommand, janusCommand, mongoCommand, nginxCommand, redisCommand } from './commands.js';
import {
  ensureSecrets,
  localInstanceEnv,
  localMediaEnv,
  localServiceEnv,
  parseTurnMode,
  SERVICE_NAMES,
  type ServiceName,
} from './stack.js';
import { ensureLocalTls } from './tls.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

function fail(message: string): never {
  process.stderr.write(`dev: ${message}\n`);
  process.exit(1);
}

function envPort(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail(`${name} must be a port number, got "${v}"`);
  return n;
}

/** The local stack's layout: the same for every task of one `turbo dev`. */
export function devLayout() {
  const signalingInstances = envPort('SIGNALING_INSTANCES', 2);
  const signaling = envPort('SIGNALING_PORT', 3004);
  return {
    state: resolve(root, process.env.VOIP_STATE || '.voip'),
    logLevel: process.env.LOG_LEVEL || 'info',
    turnMode: parseTurnMode(process.env.TURN_MODE),
    ports: {
      nginx: envPort('VOIP_PORT', 8443),
      nginxHttp: envPort('VOIP_HTTP_PORT', 8080),
      redis: envPort('REDIS_PORT', 6390),
      mongo: envPort('MONGO_PORT', 27027),
      turn: envPort('TURN_PORT', 3478),
      turnTls: envPort('TURN_TLS_PORT', 5349),
      janus: envPort('JANUS_PORT', 8088),
      janusAdmin: envPort('JANUS_ADMIN_PORT', 7088),
      gateway: [envPort('GATEWAY_PORT', 3000)],
      auth: [envPort('AUTH_PORT', 3001)],
      user: [envPort('USER_PORT', 3002)],
      call: [envPort('CALL_PORT', 3003)],
      media: [envPort('MEDIA_PORT', 3010)],
      signaling: Array.from({ length: signalingInstances }, (_, i) => signaling + i),
    } as const,
  };
}

const urls = (ports: readonly number[]) => ports.map((p) => `http://127.0.0.1:${p}`);

/** Runs the given children until they exit; SIGINT/SIGTERM are passed on (once), then we wait. */
function supervise(children: ChildProcess[]): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
    // Whatever has not stopped in 10 s is killed.
    setTimeout(() => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, 10_000).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGTERM'));
  let left = children.length;
  for (const c of children)
    c.once('exit', (code, signal) => {
      left--;
      // One child gone on its own takes the others with it: turbo shows the task as failed.
      if (!stopping) {
        process.stderr.write(`dev: ${c.spawnargs.join(' ')} exited (${code ?? signal})\n`);
        stop('SIGTERM');
      }
      if (left === 0) process.exit(stopping ? 0 : (code ?? 1));
    });
}

const run = (cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = root) =>
  spawn(cmd, args, { cwd, env, stdio: 'inherit' });

function prepare(): void {
  const { state } = devLayout();
  ensureSecrets(state);
  const tls = ensureLocalTls(state);
  process.stdout.write(`state ${state}: keys and secrets ready; local CA ${tls.caFile}\n`);
}

function server(name: string): void {
  const layout = devLayout();
  const { state, ports } = layout;
  const logs = join(state, 'logs');
  const secrets = ensureSecrets(state);
  const tls = ensureLocalTls(state);
  const command = (() => {
    switch (name) {
      case 'redis':
        return redisCommand(ports.redis, join(state, 'redis'));
      case 'mongo':
        return mongoCommand(ports.mongo, join(state, 'mongo'));
      case 'coturn':
        return coturnCommand({
          root,
          dir: join(state, 'coturn'),
          mode: layout.turnMode,
          port: ports.turn,
          tlsPort: ports.turnTls,
          realm: 'voip.local',
          secret: secrets.turnSecret,
          redisUrl: `redis://127.0.0.1:${ports.redis}/2`,
          tls,
        });
      case 'janus':
        return janusCommand({
          root,
          dir: join(state, 'janus'),
          httpPort: ports.janus,
          adminPort: ports.janusAdmin,
          rtpPorts: process.env.JANUS_RTP_PORTS || '20000-20199',
          apiSecret: secrets.janusApiSecret,
          adminSecret: secrets.janusAdminSecret,
        });
      case 'nginx':
        return nginxCommand({
          root,
          dir: join(state, 'nginx'),
          logs,
          port: ports.nginx,
          httpPort: ports.nginxHttp,
          tls,
          gatewayPorts: [...ports.gateway],
          signalingPorts: [...ports.signaling],
          recordingsDir: join(state, 'recordings'),
        });
      default:
        return fail(`unknown server "${name}" (redis, mongo, coturn, janus, nginx)`);
    }
  })();
  supervise([run(command.cmd, command.args, command.env)]);
}

/** The environment of one service instance in the local stack. */
export function devServiceEnv(service: ServiceName, index: number): NodeJS.ProcessEnv {
  const { state, ports, logLevel, turnMode } = devLayout();
  const secrets = ensureSecrets(state);
  return {
    ...process.env,
    ...localServiceEnv({
      logLevel,
      redisUrl: `redis://127.0.0.1:${ports.redis}`,
      mongoUri: `mongodb://127.0.0.1:${ports.mongo}/voip`,
      secrets,
      urls: {
        auth: urls(ports.auth),
        user: urls(ports.user),
        call: urls(ports.call),
        media: urls(ports.media),
      },
      turn: {
        port: ports.turn,
        tlsPort: ports.turnTls,
        mode: turnMode,
        secret: secrets.turnSecret,
        realm: 'voip.local',
        redisUrl: `redis://127.0.0.1:${ports.redis}/2`,
      },
    }),
    ...localInstanceEnv(service, index, ports[service][index]!, secrets),
    ...(service === 'media'
      ? localMediaEnv({ janusPort: ports.janus, secrets, recordingsDir: join(state, 'recordings') })
      : {}),
  };
}

/** tsc --watch rebuilds the app; each instance runs under node --watch, which restarts it when any file it
 *  imports changes (its own dist, or a package's dist rebuilt by that package's own dev task). */
function service(name: string): void {
  if (!(SERVICE_NAMES as readonly string[]).includes(name)) fail(`unknown service "${name}"`);
  const s = name as ServiceName;
  const { ports } = devLayout();
  const app = join(root, 'apps', s);
  const tsc = spawn(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      'tsconfig.build.json',
      '--watch',
      '--preserveWatchOutput',
    ],
    { cwd: app, env: process.env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const children: ChildProcess[] = [tsc];
  let started = false;
  tsc.stdout.setEncoding('utf8');
  tsc.stdout.on('data', (chunk: string) => {
    process.stdout.write(chunk);
    // The instances start after the first compile, so they never run a half-written dist.
    if (started || !/Watching for file changes/.test(chunk)) return;
    started = true;
    if (!existsSync(join(app, 'dist', 'server.js'))) fail(`${app}/dist/server.js was not built`);
    ports[s].forEach((_, i) => {
      const child = run(
        process.execPath,
        ['--watch', '--watch-preserve-output', '--enable-source-maps', 'dist/server.js'],
        devServiceEnv(s, i),
        app,
      );
      children.push(child);
    });
  });
  supervise(children);
}

async function ready(): Promise<void> {
  const { state, ports } = devLayout();
  const url = `https://localhost:${ports.nginx}`;
  const { caFile } = ensureLocalTls(state);
  const { trustCaInProcess } = await import('./tls.js');
  trustCaInProcess(caFile);
  process.on('SIGINT', () => process.exit(0));
  process.on('SIGTERM', () => process.exit(0));
  for (;;) {
    const res = await fetch(`${url}/api/auth/me`, { signal: AbortSignal.timeout(2000) }).catch(() => null);
    // 401: Nginx, the gateway and auth all answer.
    if (res?.status === 401) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stdout.write(
    `\nVoIP backend is up (turbo dev).\n  demo client   ${url}/\n  REST API      ${url}/api/  (docs: ${url}/api/docs)\n  Socket.io     wss://localhost:${ports.nginx}/socket.io/\n  local CA      ${caFile} (trust it in your browser or app)\n  logs          turbo's output; Nginx's in ${join(state, 'logs')}\nCtrl-C stops everything.\n`,
  );
  // A persistent task: stay until turbo stops us.
  setInterval(() => {}, 3_600_000);
}

const [cmd, arg] = process.argv.slice(2);
if (cmd === 'prepare') prepare();
else if (cmd === 'server' && arg) server(arg);
else if (cmd === 'service' && arg) service(arg);
else if (cmd === 'ready') await ready();
else fail('usage: dev.js prepare | server <redis|mongo|coturn|janus|nginx> | service <name> | ready');
