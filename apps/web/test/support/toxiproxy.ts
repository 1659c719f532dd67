// A bad path for media: Toxiproxy (built by scripts/setup into $VOIP_TOOLS/bin) as a TCP proxy in front of
// coturn's TURN port, driven through its HTTP API. A page that reaches TURN over TCP through it gets the
// proxy's bandwidth limit on everything it relays.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForPort } from '@voip/testkit/servers';

export interface Toxic {
  name: string;
  type: 'latency' | 'bandwidth';
  stream: 'upstream' | 'downstream';
  attributes: Record<string, number>;
}

export interface TcpFaultProxy {
  /** The port that forwards to the upstream TCP port. */
  port: number;
  add(toxic: Toxic): Promise<void>;
  remove(name: string): Promise<void>;
  stop(): Promise<void>;
}

/** Starts toxiproxy-server with one proxy from a free port to 127.0.0.1:`upstreamPort`. */
export async function startTcpFaultProxy(upstreamPort: number, logDir: string): Promise<TcpFaultProxy> {
  const bin = execFileSync('sh', ['-c', 'command -v toxiproxy-server || true'], { encoding: 'utf8' }).trim();
  if (!bin)
    throw new Error('toxiproxy-server not found: run ./scripts/setup (it builds it into $VOIP_TOOLS/bin)');
  const apiPort = await freePort();
  const port = await freePort();
  const log = openSync(join(logDir, 'toxiproxy-turn.log'), 'a');
  const child: ChildProcess = spawn(bin, ['-host', '127.0.0.1', '-port', String(apiPort)], {
    stdio: ['ignore', log, log],
  });
  await waitForPort(apiPort, 15_000);
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${apiPort}${path}`, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  await send('POST', '/proxies', {
    name: 'turn',
    listen: `127.0.0.1:${port}`,
    upstream: `127.0.0.1:${upstreamPort}`,
    enabled: true,
  });
  return {
    port,
    add: (t) => send('POST', '/proxies/turn/toxics', { toxicity: 1, ...t }),
    remove: (name) => send('DELETE', `/proxies/turn/toxics/${name}`),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
