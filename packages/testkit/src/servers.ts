// Starts real servers for tests: redis-server and a MongoDB wire-protocol server (mongod when on
// PATH, else FerretDB over a private PostgreSQL 15 cluster, else FerretDB on SQLite: see ferretBackend),
// each on a free port in its own temp dir, removed after.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunningServer {
  url: string;
  port: number;
  /** Its temp dir (data, logs), removed by stop(). */
  dir: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * A port nobody listens on, for a server about to start. The kernel's answer to `listen(0)` is free only
 * until the socket closes: until the server binds it, the kernel may hand the same port to the next
 * `listen(0)`, in this process (a stack asks for a dozen ports before it starts anything) or in another
 * (suites start stacks side by side). A service that then fails to bind leaves its URL answered by the
 * other one: a call service asking "the user service" got another service's 404 or another stack's users
 * (`USER_NOT_FOUND` in CI, once in a few runs). So a port is handed out once per process, and claimed
 * across processes by a file in the temp dir holding the claimer's pid (a dead claimer's file is taken
 * over); a port claimed elsewhere is skipped.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = await kernelFreePort();
    if (claimPort(port) || attempt >= 50) return port;
  }
}

function kernelFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

const handedOut = new Set<number>();
const CLAIMS = join(tmpdir(), 'voip-port-claims');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** This process's claims go with it (a dead claimer's are taken over anyway; this keeps the folder small). */
function releaseClaims() {
  for (const port of handedOut) {
    const file = join(CLAIMS, String(port));
    try {
      if (readFileSync(file, 'utf8') === String(process.pid)) unlinkSync(file);
    } catch {
      /* already gone */
    }
  }
}

function claimPort(port: number): boolean {
  if (handedOut.has(port)) return false;
  if (handedOut.size === 0) process.once('exit', releaseClaims);
  const file = join(CLAIMS, String(port));
  mkdirSync(CLAIMS, { recursive: true });
  for (let i = 0; i < 2; i++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      handedOut.add(port);
      return true;
    } catch {
      let owner = 0;
      try {
        owner = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // removed meanwhile: try again
      }
      if (owner === process.pid || (owner > 0 && alive(owner))) return false;
      try {
        unlinkSync(file); // its claimer is gone
      } catch {
        /* another process took it over first: the next write says */
      }
    }
  }
  return false;
}

function which(cmd: string): string | null {
  try {
    return execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim() || null;
  } catch {
    return null;
  }
}

export async function waitForPort(port: number, timeoutMs = 20_000, host = '127.0.0.1'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = new Socket();
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
      s.connect(port, host);
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function launch(cmd: string, args: string[], dir: string, port: number, url: string): RunningServer {
  const child: ChildProcess = spawn(cmd, args, {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: false,
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  child.on('exit', (code, signal) => {
    if (code && code !== 0 && !stopped)
      process.stderr.write(`[testkit] ${cmd} exited ${code ?? signal}: ${stderr}\n`);
  });
  let stopped = false;
  return {
    url,
    port,
    dir,
    pid: child.pid,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until the server listens; if it never does, stops it and removes its temp dir before throwing. */
async function ready(srv: RunningServer): Promise<RunningServer> {
  try {
    await waitForPort(srv.port);
    return srv;
  } catch (err) {
    await srv.stop();
    throw err;
  }
}

/** A redis-server in a temp dir; on `port` when given (a test that brings it up late, or again). */
export async function startRedis(opts: { port?: number } = {}): Promise<RunningServer> {
  const bin = which('redis-server');
  if (!bin) throw new Error('redis-server is not installed: run ./scripts/setup');
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'voip-redis-'));
  const srv = launch(
    bin,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
    ],
    dir,
    port,
    `redis://127.0.0.1:${port}`,
  );
  return ready(srv);
}

/**
 * Which FerretDB backend runs the local MongoDB-compatible server (tests, dev stack, bench): `pg`, a
 * private PostgreSQL 15 cluster per server (bin/ferretdb-pg), when Debian's postgresql-15 is installed
 * (scripts/setup installs it), else `sqlite`. VOIP_FERRETDB_BACKEND=sqlite|pg overrides. Why PostgreSQL:
 * FerretDB v1 on SQLite answers only `_id` equality from an index and scans for everything else (a
 * user's history, a sync page, a conditional upsert by id: hundreds of ms at a few thousand documents);
 * on PostgreSQL every equality filter is pushed down into SQL, 10–90× faster (BENCHMARKS.md, "store";
 * a scan in C, not an index lookup: FerretDB v1 filters with jsonb containment, see the README).
 */
export function ferretBackend(): 'pg' | 'sqlite' {
  const chosen = process.env.VOIP_FERRETDB_BACKEND;
  if (chosen === 'pg' || chosen === 'sqlite') return chosen;
  return existsSync(join(process.env.VOIP_PG_BIN ?? '/usr/lib/postgresql/15/bin', 'initdb'))
    ? 'pg'
    : 'sqlite';
}

/** bin/ferretdb-pg: FerretDB over a private PostgreSQL cluster in a dir, as one process. */
export const ferretdbPgScript = fileURLToPath(new URL('../bin/ferretdb-pg', import.meta.url));

/** The command line of FerretDB in `dir` on `port`, with the backend ferretBackend() picks. */
export function ferretCommand(
  ferret: string,
  dir: string,
  port: number,
  logLevel = 'error',
): { cmd: string; args: string[]; kind: string } {
  if (ferretBackend() === 'pg')
    return { cmd: ferretdbPgScript, args: [dir, String(port), logLevel], kind: 'FerretDB/PostgreSQL' };
  return {
    cmd: ferret,
    args: [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      `--log-level=${logLevel}`,
    ],
    kind: 'FerretDB/SQLite',
  };
}

/** A MongoDB-compatible server in a temp dir; on `port` when given (a test that brings it up late). */
export async function startMongo(opts: { port?: number } = {}): Promise<RunningServer> {
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'voip-mongo-'));
  const mongod = which('mongod');
  let srv: RunningServer;
  if (mongod) {
    srv = launch(
      mongod,
      ['--port', String(port), '--bind_ip', '127.0.0.1', '--dbpath', dir, '--quiet'],
      dir,
      port,
      `mongodb://127.0.0.1:${port}`,
    );
  } else {
    const ferret = which('ferretdb');
    if (!ferret)
      throw new Error(
        'no MongoDB-compatible server: run ./scripts/setup (builds FerretDB) or put mongod on PATH',
      );
    const c = ferretCommand(ferret, dir, port);
    srv = launch(c.cmd, c.args, dir, port, `mongodb://127.0.0.1:${port}`);
  }
  return ready(srv);
}

/** A database name no other test file uses: mongodb://host/<name>. */
export function uniqueName(prefix = 't'): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}

/** MONGODB_URI with its own database, so test files never see each other's data. */
export function mongoUriFor(base: string, dbName = uniqueName()): string {
  const u = new URL(base);
  u.pathname = `/${dbName}`;
  return u.toString();
}
