// Real coturn for tests: `turnserver` with infra/coturn/turnserver.dev.conf plus the mode's arguments,
// on free loopback ports, a `turnutils_peer` to relay to, and `turnutils_uclient` (coturn's own client)
// to prove that a credential allocates a relay and exchanges data through it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForPort } from '@voip/testkit/servers';

export const DEV_CONF = fileURLToPath(
  new URL('../../../../infra/coturn/turnserver.dev.conf', import.meta.url),
);

export interface Coturn {
  port: number;
  peerPort: number;
  realm: string;
  log(): string;
  stop(): Promise<void>;
}

export type CoturnAuth =
  | { mode: 'rest'; secret: string }
  | { mode: 'call-scoped'; redisPort: number; redisDb: number };

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startCoturn(auth: CoturnAuth, realm = 'voip.test'): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'voip-coturn-'));
  const [port, peerPort, relayBase] = [
    await freePort(),
    await freePort(),
    40_000 + Math.floor(Math.random() * 20_000),
  ];
  const authArgs =
    auth.mode === 'rest'
      ? ['--use-auth-secret', `--static-auth-secret=${auth.secret}`, `--userdb=${join(dir, 'turndb')}`]
      : [
          '--lt-cred-mech',
          `--redis-userdb=ip=127.0.0.1 port=${auth.redisPort} dbname=${auth.redisDb} connect_timeout=5`,
        ];
  const server = spawn(
    'turnserver',
    [
      '-c',
      DEV_CONF,
      `--listening-port=${port}`,
      `--realm=${realm}`,
      `--min-port=${relayBase}`,
      `--max-port=${relayBase + 200}`,
      `--pidfile=${join(dir, 'turnserver.pid')}`,
      ...authArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (d: Buffer) => {
    output = (output + d.toString()).slice(-20_000);
  };
  server.stdout?.on('data', collect);
  server.stderr?.on('data', collect);
  const peer = spawn('turnutils_peer', ['-L', '127.0.0.1', '-p', String(peerPort)], { stdio: 'ignore' });
  try {
    await waitForPort(port, 10_000);
  } catch (err) {
    await Promise.all([stopChild(server), stopChild(peer)]);
    throw new Error(`turnserver did not start: ${(err as Error).message}\n${output}`);
  }
  return {
    port,
    peerPort,
    realm,
    log: () => output,
    async stop() {
      await Promise.all([stopChild(server), stopChild(peer)]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface AllocationResult {
  ok: boolean;
  /** messages echoed back by the peer through the relay */
  received: number;
  output: string;
}

/**
 * Allocates `allocations` relays at once with coturn's client (each one a client of its own) and sends a
 * few messages through them to the peer and back. coturn keeps an allocation of a client that exits until
 * its lifetime ends, so they keep counting against the credential's quota.
 */
export function allocate(
  turn: Coturn,
  username: string,
  password: string,
  allocations = 1,
): Promise<AllocationResult> {
  return new Promise((resolve) => {
    execFile(
      'turnutils_uclient',
      [
        '-c',
        '-n',
        '2',
        '-m',
        String(allocations),
        '-p',
        String(turn.port),
        '-u',
        username,
        '-w',
        password,
        '-e',
        '127.0.0.1',
        '-r',
        String(turn.peerPort),
        '127.0.0.1',
      ],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        const totals = [...output.matchAll(/tot_recv_msgs=(\d+)/g)].map((m) => Number(m[1]));
        const received = totals.length ? Math.max(...totals) : 0;
        resolve({ ok: !err && !/Cannot complete Allocation|error 486/.test(output), received, output });
      },
    );
  });
}
