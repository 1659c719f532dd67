// `turbo dev` as a developer runs it: from a clean copy of the tree (tracked files only: no dist, no
// .voip, node_modules installed offline from the pnpm store), the public door answers through Nginx over
// HTTPS; editing one service's source restarts that service alone; Ctrl-C (SIGINT to turbo's process
// group, as a terminal sends it) leaves no process of the stack behind.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@voip/testkit/servers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trustCaInProcess } from '../src/tls.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** pids of processes whose command line or working directory is inside `dir`. */
function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {}
      if (cmd.includes(dir) || cwd.startsWith(dir)) found.push(`${pid} ${cmd.trim()}`);
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

describe('turbo dev', () => {
  let tree: string;
  let turbo: ChildProcess | undefined;
  let output = '';
  let url: string;

  beforeAll(() => {
    tree = mkdtempSync(join(tmpdir(), 'voip-turbo-dev-'));
    // A clean copy: the files git knows (committed or not, minus what .gitignore leaves out).
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: root,
      maxBuffer: 64 * 1024 * 1024,
    });
    execFileSync('sh', ['-c', `cd "${root}" && tar -cf - --null -T - | tar -xf - -C "${tree}"`], {
      input: files,
      maxBuffer: 64 * 1024 * 1024,
    });
    execFileSync('pnpm', ['install', '--offline', '--frozen-lockfile'], { cwd: tree, stdio: 'ignore' });
  });

  afterAll(async () => {
    if (turbo?.pid && turbo.exitCode === null) {
      try {
        process.kill(-turbo.pid, 'SIGKILL');
      } catch {}
    }
    for (const line of processesIn(tree)) {
      try {
        process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      } catch {}
    }
    rmSync(tree, { recursive: true, force: true });
  });

  it('starts the stack, restarts only the edited service, and leaves nothing behind on Ctrl-C', async () => {
    const names = ['VOIP_PORT', 'VOIP_HTTP_PORT', 'GATEWAY_PORT', 'AUTH_PORT', 'USER_PORT', 'CALL_PORT'];
    const more = ['SIGNALING_PORT', 'REDIS_PORT', 'MONGO_PORT', 'TURN_PORT', 'TURN_TLS_PORT'];
    more.push('MEDIA_PORT', 'JANUS_PORT', 'JANUS_ADMIN_PORT');
    const ports: Record<string, string> = {};
    for (const n of [...names, ...more]) ports[n] = String(await freePort());
    // Where this checkout's turbo keeps its cache (a git worktree shares the main one): the copy's
    // builds are the same inputs, so they come from there instead of being redone.
    const common = resolve(
      root,
      execFileSync('git', ['rev-parse', '--git-common-dir'], { cwd: root, encoding: 'utf8' }).trim(),
    );
    const cacheDir = join(dirname(common), '.turbo', 'cache');
    turbo = spawn(join(tree, 'node_modules', '.bin', 'turbo'), ['run', 'dev'], {
      cwd: tree,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        // Not the variables of a turbo that may be running this test: this is a turbo of its own.
        ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TURBO_'))),
        ...ports,
        SIGNALING_INSTANCES: '1',
        LOG_LEVEL: 'info',
        VOIP_STATE: '',
        ...(existsSync(cacheDir) ? { TURBO_CACHE_DIR: cacheDir } : {}),
        TURBO_TELEMETRY_DISABLED: '1',
        TURBO_NO_UPDATE_NOTIFIER: '1',
      },
    });
    for (const s of [turbo.stdout!, turbo.stderr!]) {
      s.setEncoding('utf8');
      s.on('data', (d: string) => {
        output += d;
      });
    }
    const exited = new Promise<number | null>((r) => turbo!.once('exit', (code) => r(code)));
    url = `https://localhost:${ports.VOIP_PORT}`;

    const meStatus = () =>
      fetch(`${url}/api/auth/me`, { signal: AbortSignal.timeout(3000) }).then(
        (r) => r.status,
        () => 0,
      );
    // The gateway answers /me without a token by itself; an unknown refresh token is auth's to refuse
    // (401), and the gateway's 503 while auth is down.
    const authStatus = () =>
      fetch(`${url}/api/auth/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: `unknown-${Date.now()}-refresh-token` }),
        signal: AbortSignal.timeout(3000),
      }).then(
        (r) => r.status,
        () => 0,
      );
    const until = async (what: string, check: () => Promise<boolean> | boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!(await check())) {
        if (turbo!.exitCode !== null)
          throw new Error(`turbo exited (${turbo!.exitCode}) before ${what}:\n${output.slice(-4000)}`);
        if (Date.now() > deadline) throw new Error(`no ${what} after ${ms} ms:\n${output.slice(-4000)}`);
        // Gently: the gateway answers 429 past 60 unauthenticated requests a minute from one address.
        await new Promise((r) => setTimeout(r, 2000));
      }
    };

    // The local CA is made by the first task (dev:prepare) in the copy's own state folder.
    const caFile = join(tree, '.voip', 'tls', 'ca.pem');
    await until('local CA', () => existsSync(caFile), 300_000);
    trustCaInProcess(caFile);
    // 401: Nginx (HTTPS), the gateway and auth all answer.
    await until('401 from /api/auth/me through Nginx', async () => (await meStatus()) === 401, 600_000);
    await until('auth answering through Nginx', async () => (await authStatus()) === 401, 300_000);
    // Plain HTTP only redirects to HTTPS.
    const redirect = await fetch(`http://localhost:${ports.VOIP_HTTP_PORT}/api/auth/me`, {
      redirect: 'manual',
    });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, `${url}/api/auth/me`]);

    const count = (re: RegExp) => output.match(re)?.length ?? 0;
    const listening = (service: string) =>
      count(new RegExp(`@voip/${service}:dev: \\{[^\\n]*"msg":"Server listening`, 'g'));
    const restarts = (service: string) => count(new RegExp(`@voip/${service}:dev: Restarting`, 'g'));
    // Settled: no service has restarted for a while (the packages' first watch builds are done).
    let last = output.length;
    await until(
      'a quiet moment',
      async () => {
        await new Promise((r) => setTimeout(r, 8000));
        const quiet = !/Restarting|Starting compilation|File change detected/.test(output.slice(last));
        last = output.length;
        return quiet;
      },
      180_000,
    );
    const before = {
      auth: listening('auth'),
      authRestarts: restarts('auth'),
      others: ['user', 'call', 'gateway', 'signaling'].map(restarts),
    };

    // Edit one service's source: its tsc --watch rebuilds it and node --watch restarts it.
    appendFileSync(
      join(tree, 'apps', 'auth', 'src', 'server.ts'),
      `\n// edited by the turbo-dev test ${Date.now()}\n`,
    );
    await until(
      'auth restarted',
      () => restarts('auth') > before.authRestarts && listening('auth') > before.auth,
      180_000,
    );
    await until('auth answering again after the restart', async () => (await authStatus()) === 401, 60_000);
    expect(await meStatus()).toBe(401);
    // Only the affected service restarted.
    expect(['user', 'call', 'gateway', 'signaling'].map(restarts)).toEqual(before.others);

    // Ctrl-C: a terminal sends SIGINT to the whole foreground process group.
    process.kill(-turbo.pid!, 'SIGINT');
    const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    expect(code, output.slice(-3000)).not.toBe('timeout');
    // Give the last children a moment to be reaped, then nothing of the stack may be left.
    await new Promise((r) => setTimeout(r, 3000));
    expect(processesIn(tree)).toEqual([]);
    expect(await meStatus()).toBe(0);
  });
});
