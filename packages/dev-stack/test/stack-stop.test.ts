// `./scripts/dev --stop` (stack-cli --stop) returns only once every process of the detached stack has
// exited, services before the servers they use: a Redis still writing its snapshot once kept the port
// of the next `./scripts/dev` busy. Stand-ins that take their time to exit on SIGTERM, as Redis does.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../dist/stack-cli.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'voip-stop-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

/** A detached process (its own group, like the stack's) that on SIGTERM runs `onTerm`, then exits. */
function lingerOnTerm(onTerm: string): ChildProcess {
  const child = spawn('sh', ['-c', `trap '${onTerm}; exit 0' TERM; while :; do sleep 0.1; done`], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  children.push(child);
  return child;
}

const running = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;
const now = 'date +%s%N';

describe('stack-cli --stop', () => {
  it('returns only when every process has exited, services first', async () => {
    if (!existsSync(CLI))
      throw new Error('packages/dev-stack is not built: run `turbo run build --filter=@voip/dev-stack`');
    const gateway = lingerOnTerm(`sleep 1; ${now} > ${dir}/gateway.exited`);
    const redis = lingerOnTerm(`${now} > ${dir}/redis.termed; sleep 1.5`);
    await new Promise((r) => setTimeout(r, 200)); // the traps are set
    writeFileSync(
      join(dir, 'stack.json'),
      JSON.stringify({
        url: 'http://127.0.0.1:1',
        processes: [
          { name: 'redis', pid: redis.pid },
          { name: 'gateway', pid: gateway.pid },
        ],
      }),
    );
    const { stdout } = await run(process.execPath, [CLI, '--stop'], {
      env: { ...process.env, VOIP_STATE: dir },
    });
    expect(stdout).toContain('stopped 2 processes');
    // Let this process reap them (they are its children): then they are gone, not zombies.
    await new Promise((r) => setTimeout(r, 100));
    expect([running(gateway), running(redis)]).toEqual([false, false]);
    expect(existsSync(join(dir, 'stack.json'))).toBe(false);
    const gatewayExited = BigInt(readFileSync(join(dir, 'gateway.exited'), 'utf8').trim());
    const redisTermed = BigInt(readFileSync(join(dir, 'redis.termed'), 'utf8').trim());
    expect(redisTermed >= gatewayExited).toBe(true);
  });
});
