// Processes of a benchmark: servers pinned to one core, load generators to the other (`taskset`), every
// one with an IPC channel. Servers preload lib/probe.ts (memory, CPU, event-loop delay, handles on
// demand); generators run lib/worker.ts, which serves the functions a scenario's generator module exports.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ProbeReply } from './probe.ts';

export const benchDir = fileURLToPath(new URL('..', import.meta.url));
export const repoDir = fileURLToPath(new URL('../..', import.meta.url));
const probePath = fileURLToPath(new URL('./probe.ts', import.meta.url));
const tapPath = fileURLToPath(new URL('./redis-tap.ts', import.meta.url));
const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url));

const hasTaskset = spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).status === 0;
/** Server core and generator core (BENCH_SERVER_CPU / BENCH_LOAD_CPU, 0 and 1). */
export const cores = {
  server: process.env.BENCH_SERVER_CPU ?? '0',
  load: process.env.BENCH_LOAD_CPU ?? '1',
};

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

export interface Proc {
  name: string;
  child: ChildProcess;
  pid: number;
  /** Forced GC, then memory, CPU, event-loop delay and handles (servers started with `probe: true`). */
  probe(gc?: boolean, snapshot?: string): Promise<ProbeReply>;
  /** Calls `fn` of a generator's module (processes started with `worker`). */
  call<T = unknown>(fn: string, arg?: unknown, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
  /** The last lines it wrote to stderr (for a failure message). */
  tail(): string;
}

export interface SpawnOpts {
  name: string;
  core: string;
  /** A script (.ts / .js) and its arguments. */
  script: string;
  args?: string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  probe?: boolean;
  /** Count the pub/sub messages it receives (lib/redis-tap.ts; returned by probe()). */
  tap?: boolean;
  nodeArgs?: string[];
}

let nextId = 1;

export function spawnNode(o: SpawnOpts): Proc {
  const nodeArgs = [...(o.nodeArgs ?? [])];
  if (o.probe) nodeArgs.push('--expose-gc', '--import', probePath);
  if (o.tap) nodeArgs.push('--import', tapPath);
  const argv = [...nodeArgs, o.script, ...(o.args ?? [])];
  const [cmd, args] = hasTaskset
    ? ['taskset', ['-c', o.core, process.execPath, ...argv]]
    : [process.execPath, argv];
  const child = spawn(cmd as string, args as string[], {
    cwd: o.cwd ?? benchDir,
    env: { ...process.env, ...o.env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  children.add(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-4000);
    if (process.env.BENCH_VERBOSE) process.stderr.write(`[${o.name}] ${d}`);
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (m: { probe?: number; rpc?: number; result?: unknown; error?: string }) => {
    const id = m.probe ?? m.rpc;
    if (id === undefined) return;
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (m.error) p.reject(new Error(`${o.name}: ${m.error}`));
    else p.resolve(m.rpc !== undefined ? m.result : m);
  });
  child.on('exit', (code, signal) => {
    children.delete(child);
    for (const p of pending.values())
      p.reject(new Error(`${o.name} exited (${code ?? signal}) ${err.slice(-1500)}`));
    pending.clear();
  });
  const ask = <T>(msg: Record<string, unknown>, id: number, timeoutMs: number) =>
    new Promise<T>((resolve, reject) => {
      if (child.exitCode !== null) return reject(new Error(`${o.name} is not running: ${err.slice(-1500)}`));
      const t = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${o.name}: no answer to ${JSON.stringify(msg).slice(0, 80)} in ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(t);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      child.send(msg);
    });
  return {
    name: o.name,
    child,
    pid: child.pid ?? 0,
    probe: (gc = true, snapshot?: string) => {
      const id = nextId++;
      return ask<ProbeReply>({ probe: id, gc, ...(snapshot ? { snapshot } : {}) }, id, 300_000);
    },
    call: (fn, arg, timeoutMs = 600_000) => {
      const id = nextId++;
      return ask({ rpc: id, fn, arg }, id, timeoutMs);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(t);
    },
    tail: () => err,
  };
}

/** A load generator: `module` (relative to bench/) exports the functions the scenario calls. */
export function spawnWorker(
  name: string,
  module: string,
  env: Record<string, string> = {},
  core = cores.load,
) {
  return spawnNode({
    name,
    core,
    script: workerPath,
    args: [fileURLToPath(new URL(`../${module}`, import.meta.url))],
    env,
    nodeArgs: ['--max-old-space-size=2048'],
  });
}

/** CPU time (user + system, ms) a process has used so far, from /proc; 0 where there is none. */
export function cpuMsOf(pid: number): number {
  try {
    const { readFileSync } = process.getBuiltinModule('node:fs');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

/** Resident memory of any process (Redis, Toxiproxy), bytes, from /proc. */
export function rssOf(pid: number): number {
  try {
    const { readFileSync } = process.getBuiltinModule('node:fs');
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}
