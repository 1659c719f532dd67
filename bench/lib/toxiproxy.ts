// Toxiproxy (built by scripts/setup into $VOIP_TOOLS/bin, on PATH via scripts/lib/env.sh): a TCP proxy
// whose `timeout` toxic with timeout 0 drops every byte both ways and never closes the connection: a
// network gone silently, no FIN, as a phone that walks out of Wi-Fi.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { freePort } from '@voip/testkit/servers';
import { waitFor } from './proc.ts';

export interface Toxiproxy {
  api: string;
  /** A proxy from a free port to 127.0.0.1:upstreamPort; returns its URL (http://127.0.0.1:port). */
  proxy(name: string, upstreamPort: number): Promise<string>;
  remove(name: string): Promise<void>;
  stop(): Promise<void>;
}

export async function api(base: string, method: string, path: string, body?: unknown): Promise<void> {
  const res = await fetch(base + path, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${await res.text()}`);
}

/** Drops everything both ways on `name`, silently (no FIN, no RST). */
export async function blackhole(base: string, name: string): Promise<void> {
  for (const stream of ['downstream', 'upstream'])
    await api(base, 'POST', `/proxies/${name}/toxics`, {
      name: `silent-${stream}`,
      type: 'timeout',
      stream,
      toxicity: 1,
      attributes: { timeout: 0 },
    });
}

export async function startToxiproxy(): Promise<Toxiproxy> {
  let bin: string;
  try {
    bin = execFileSync('sh', ['-c', 'command -v toxiproxy-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('toxiproxy-server not found: run ./scripts/setup and source scripts/lib/env.sh');
  }
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['-host', '127.0.0.1', '-port', String(port)], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  await waitFor('toxiproxy', async () => (await fetch(`${base}/version`)).ok, 15_000);
  return {
    api: base,
    async proxy(name, upstreamPort) {
      const listen = await freePort();
      await api(base, 'POST', '/proxies', {
        name,
        listen: `127.0.0.1:${listen}`,
        upstream: `127.0.0.1:${upstreamPort}`,
        enabled: true,
      });
      return `http://127.0.0.1:${listen}`;
    },
    remove: (name) => api(base, 'DELETE', `/proxies/${name}`),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
