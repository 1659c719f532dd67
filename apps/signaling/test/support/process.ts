// Test support: the built server (dist/server.js) as a real child process, for what only a process can
// show: SIGKILL in the middle of a call, SIGTERM's graceful drain and exit code.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serviceEnv } from '@voip/testkit/env';
import { freePort, uniqueName, waitForPort } from '@voip/testkit/servers';
import { FAST_ENV } from './cluster.js';

const SERVER = fileURLToPath(new URL('../../dist/server.js', import.meta.url));

export interface ChildInstance {
  url: string;
  instanceId: string;
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function spawnInstance(env: Record<string, string> = {}): Promise<ChildInstance> {
  if (!existsSync(SERVER)) throw new Error(`${SERVER} is missing: build @voip/signaling first (pnpm build)`);
  const port = await freePort();
  const instanceId = uniqueName('child');
  let out = '';
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      ...serviceEnv({ ...FAST_ENV, LOG_LEVEL: 'warn', ...env, PORT: String(port), INSTANCE_ID: instanceId }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  try {
    await waitForPort(port, 20_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`signaling child did not start: ${(err as Error).message}\n${out}`);
  }
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ready = await fetch(`${url}/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    instanceId,
    child,
    exited,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
