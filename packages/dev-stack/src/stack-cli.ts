// `node packages/dev-stack/dist/stack-cli.js` — what `scripts/dev --detach` runs: start the stack in the
// background and return once it is ready (or in the foreground until Ctrl-C), or stop a detached one
// (`--stop`). The daily loop is `turbo dev` (dev.ts); this is for a stack that outlives the terminal.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseTurnMode, STOP_ORDER, startStack } from './stack.js';

const args = new Set(process.argv.slice(2));
const stateDir = resolve(process.env.VOIP_STATE ?? '.voip');
const envInt = (name: string, fallback: number) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    process.stderr.write(`config: ${name} must be a port number, got "${v}"\n`);
    process.exit(1);
  }
  return n;
};

/**
 * Live (not zombie) processes of these ids or process groups (each detached child leads its own group,
 * which holds what it started, e.g. node --watch's child). From /proc on Linux, kill(0) elsewhere.
 */
function living(ids: number[]): number[] {
  if (!existsSync('/proc/self/stat'))
    return ids.filter((id) => {
      for (const target of [-id, id]) {
        try {
          process.kill(target, 0);
          return true;
        } catch {
          /* not there */
        }
      }
      return false;
    });
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state === 'Z' || state === 'X') continue;
    if (ids.includes(Number(entry)) || ids.includes(Number(pgrp))) found.push(Number(entry));
  }
  return found;
}

function signal(ids: number[], sig: NodeJS.Signals) {
  for (const id of ids) {
    try {
      process.kill(-id, sig);
    } catch {
      try {
        process.kill(id, sig);
      } catch {
        /* already gone */
      }
    }
  }
}

/** SIGTERM, then wait until every process of the groups has exited; SIGKILL what is left after timeoutMs. */
async function stopGroup(ids: number[], timeoutMs: number): Promise<'exited' | 'killed'> {
  signal(ids, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (living(ids).length > 0) {
    if (Date.now() > deadline) {
      signal(ids, 'SIGKILL');
      for (const pid of living(ids)) signal([pid], 'SIGKILL');
      while (living(ids).length > 0) await new Promise((r) => setTimeout(r, 50));
      return 'killed';
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return 'exited';
}

/**
 * Stops a detached stack and returns only when every one of its processes has exited: services first
 * (they drain), then Nginx, coturn and the databases (Redis may still be writing its snapshot), each
 * given VOIP_STOP_TIMEOUT_MS (60 s) before SIGKILL. A new stack started right after finds its ports free.
 */
async function stopDetached(): Promise<void> {
  const file = join(stateDir, 'stack.json');
  if (!existsSync(file)) {
    process.stdout.write('no detached stack is running (no .voip/stack.json)\n');
    return;
  }
  const { processes } = JSON.parse(readFileSync(file, 'utf8')) as {
    processes: { name: string; pid?: number }[];
  };
  const timeoutMs = Number(process.env.VOIP_STOP_TIMEOUT_MS || 60_000);
  const rank = (name: string) => {
    const i = STOP_ORDER.indexOf(name);
    return i < 0 ? STOP_ORDER.indexOf('nginx') - 0.5 : i;
  };
  const ranks = [...new Set(processes.map((p) => rank(p.name)))].sort((a, b) => a - b);
  for (const r of ranks) {
    const group = processes.filter((p) => rank(p.name) === r && p.pid);
    const ids = group.map((p) => p.pid as number);
    if ((await stopGroup(ids, timeoutMs)) === 'killed')
      process.stderr.write(`${group[0]?.name} did not exit within ${timeoutMs} ms: killed\n`);
  }
  rmSync(file, { force: true });
  process.stdout.write(`stopped ${processes.length} processes\n`);
}

async function main(): Promise<void> {
  if (args.has('--stop')) return stopDetached();
  const detached = args.has('--detach');
  if (existsSync(join(stateDir, 'stack.json')) && detached) {
    process.stderr.write('a detached stack seems to be running: ./scripts/dev --stop first\n');
    process.exit(1);
  }
  const stack = await startStack({
    stateDir,
    detached,
    watch: !detached,
    signalingInstances: envInt('SIGNALING_INSTANCES', 2),
    // coturn and the call service in one TURN mode; a bad value stops here with one line (main's catch).
    turnMode: parseTurnMode(process.env.TURN_MODE),
    logLevel: process.env.LOG_LEVEL ?? 'info',
    ports: {
      nginx: envInt('VOIP_PORT', 8443),
      nginxHttp: envInt('VOIP_HTTP_PORT', 8080),
      gateway: envInt('GATEWAY_PORT', 3000),
      auth: envInt('AUTH_PORT', 3001),
      user: envInt('USER_PORT', 3002),
      call: envInt('CALL_PORT', 3003),
      signaling: envInt('SIGNALING_PORT', 3004),
      redis: envInt('REDIS_PORT', 6390),
      mongo: envInt('MONGO_PORT', 27027),
      turn: envInt('TURN_PORT', 3478),
      turnTls: envInt('TURN_TLS_PORT', 5349),
    },
    onProgress: (line) => process.stdout.write(`  ${line}\n`),
  });
  process.stdout.write(
    `\nVoIP backend is up.\n  demo client   ${stack.url}/  (local CA: ${stack.tls.caFile})\n  REST API      ${stack.url}/api/  (docs: ${stack.url}/api/docs)\n  Socket.io     ${stack.url}/socket.io/\n  logs          ${join(stateDir, 'logs')}\n`,
  );
  if (detached) {
    process.stdout.write('Stop it with ./scripts/dev --stop\n');
    process.exit(0);
  }
  process.stdout.write('Ctrl-C stops everything.\n');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping…\n');
    await stack.stopAll();
    rmSync(join(stateDir, 'stack.json'), { force: true });
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: Error) => {
  process.stderr.write(`could not start the stack: ${err.message}\n`);
  process.exit(1);
});
