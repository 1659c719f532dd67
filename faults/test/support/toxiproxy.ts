// A bad network between a client and Nginx: Toxiproxy (built by scripts/setup into $VOIP_TOOLS/bin; this
// kernel has no netem qdisc) in front of Nginx's port, driven through its HTTP API.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForPort } from '@voip/testkit/servers';

export interface Toxic {
  name: string;
  type: 'latency' | 'bandwidth' | 'timeout' | 'reset_peer' | 'slow_close' | 'limit_data';
  stream: 'upstream' | 'downstream';
  toxicity?: number;
  attributes: Record<string, number>;
}

export interface ToxiProxy {
  /** The proxied public URL: what a client on the bad network uses instead of Nginx's. */
  url: string;
  add(toxic: Toxic): Promise<void>;
  remove(name: string): Promise<void>;
  /** Disabled: every connection through it is closed and new ones are refused. */
  setEnabled(enabled: boolean): Promise<void>;
  stop(): Promise<void>;
}

function binary(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v toxiproxy-server'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(
      'toxiproxy-server not found: run ./scripts/setup (it builds Toxiproxy into $VOIP_TOOLS/bin)',
    );
  }
}

/** Starts toxiproxy-server and one proxy from a free port to `upstreamUrl` (http://127.0.0.1:port). */
export async function startToxiproxy(upstreamUrl: string, logDir: string): Promise<ToxiProxy> {
  const apiPort = await freePort();
  const listenPort = await freePort();
  const child: ChildProcess = spawn(binary(), ['-host', '127.0.0.1', '-port', String(apiPort)], {
    stdio: [
      'ignore',
      openSync(join(logDir, 'toxiproxy.log'), 'a'),
      openSync(join(logDir, 'toxiproxy.log'), 'a'),
    ],
  });
  await waitForPort(apiPort, 15_000);
  const api = `http://127.0.0.1:${apiPort}`;
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: body ? { 'content-type': 'application/json' } : {},
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!res.ok) throw new Error(`toxiproxy ${method} ${path}: ${res.status} ${await res.text()}`);
  };
  const upstream = new URL(upstreamUrl);
  await send('POST', '/proxies', {
    name: 'nginx',
    listen: `127.0.0.1:${listenPort}`,
    // By address: the proxy must reach the port Nginx listens on, whatever "localhost" resolves to first.
    upstream: `127.0.0.1:${upstream.port}`,
    enabled: true,
  });
  return {
    // Same scheme and host name as Nginx's URL: TLS passes through, the certificate names the host.
    url: `${upstream.protocol}//${upstream.hostname}:${listenPort}`,
    add: (t) => send('POST', '/proxies/nginx/toxics', { toxicity: 1, ...t }),
    remove: (name) => send('DELETE', `/proxies/nginx/toxics/${name}`),
    setEnabled: (enabled) => send('POST', '/proxies/nginx', { enabled }),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
