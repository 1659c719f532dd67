// `node packages/dev-stack/dist/stack-cli.js` — what `scripts/dev --detach` runs: start the stack in the
// background and return once it is ready (or in the foreground until Ctrl-C), or stop a detached one
// (`--stop`). The daily loop is `turbo dev` (dev.ts); this is for a stack that outlives the terminal.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseTurnMode, startStack } from './stack.js';

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

function stopDetached(): void {
  const file = join(stateDir, 'stack.json');
  if (!existsSync(file)) {
    process.stdout.write('no detached stack is running (no .voip/stack.json)\n');
    return;
  }
  const { processes } = JSON.parse(readFileSync(file, 'utf8')) as {
    processes: { name: string; pid?: number }[];
  };
  // Services first, then the servers they use.
  for (const p of [...processes].reverse()) {
    if (!p.pid) continue;
    try {
      process.kill(-p.pid, 'SIGTERM');
    } catch {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
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
