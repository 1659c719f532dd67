// A whole stack per test file, reached only through Nginx's URL as a real client would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Stack, type StackOptions, startStack } from '@voip/dev-stack/stack';

export interface TestStack extends Stack {
  dispose(): Promise<void>;
}

export async function startTestStack(opts: Omit<StackOptions, 'stateDir'> = {}): Promise<TestStack> {
  const stateDir = mkdtempSync(join(tmpdir(), 'voip-client-'));
  try {
    const stack = await startStack({
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      ...opts,
      // The gateway probes its upstreams as they start (all at once) and may first see them down: probe
      // often, so it notices them up quickly.
      serviceEnv: { ...opts.serviceEnv, gateway: { HEALTH_CHECK_INTERVAL_MS: '200', ...opts.serviceEnv?.gateway } },
      stateDir,
    });
    await untilApiAnswers(stack.url, opts.services ?? ['auth', 'user', 'call']);
    return Object.assign(stack, {
      async dispose() {
        await stack.stopAll();
        if (!process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
      },
    });
  } catch (err) {
    rmSync(stateDir, { recursive: true, force: true });
    throw err;
  }
}

/** Waits until the gateway routes to every started REST service (an anonymous call gets no 503). */
async function untilApiAnswers(url: string, services: readonly string[]): Promise<void> {
  const paths = [
    services.includes('auth') && '/api/auth/me',
    services.includes('user') && '/api/users/me',
    services.includes('call') && '/api/calls',
  ].filter((p): p is string => Boolean(p));
  const deadline = Date.now() + 20_000;
  for (const path of paths) {
    for (;;) {
      const res = await fetch(url + path).catch(() => null);
      if (res && res.status !== 503 && res.status !== 502) break;
      if (Date.now() > deadline) throw new Error(`${path} still unavailable through ${url}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Names unique per run (usernames are global in one stack's database). */
export const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** A fetch that records every request it sends (method, path, status). */
export function countingFetch(): { fetch: typeof fetch; calls: { method: string; path: string; status: number }[] } {
  const calls: { method: string; path: string; status: number }[] = [];
  const wrapped: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    calls.push({ method: init?.method ?? 'GET', path: url.pathname, status: res.status });
    return res;
  };
  return { fetch: wrapped, calls };
}
