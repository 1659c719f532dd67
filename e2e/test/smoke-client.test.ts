// e2e/smoke/call-through-door.mjs is what CI's image workflow runs against the compose stack of the
// images it just built; here it runs against the test stack (the services' dist/ behind real Nginx), so
// a change of the public API that would break it fails the suite, not only the image workflow.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../smoke/call-through-door.mjs', import.meta.url));
const run = (url: string) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(process.execPath, [script, url], { timeout: 90_000 }, (_err, stdout, stderr) =>
      resolve({ code: child.exitCode, out: `${stdout}${stderr}` }),
    );
  });

describe('the smoke client of the image workflow', () => {
  let stack: Stack;
  let stateDir: string;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-e2e-smoke-'));
    stack = await startStack({
      stateDir,
      services: ['auth', 'user', 'call', 'signaling', 'gateway'],
      signalingInstances: 1,
      nginx: true,
      coturn: false,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
    });
  });

  afterAll(async () => {
    await stack?.stopAll();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it('completes one call through Nginx and finds it answered in the history', async () => {
    const { code, out } = await run(stack.url);
    expect(out).toContain('smoke: ok');
    expect(code, out).toBe(0);
  });

  it('fails with one line naming the door when nothing answers there', async () => {
    const { code, out } = await run('http://127.0.0.1:9');
    expect(code).toBe(1);
    expect(out).toMatch(/^smoke: FAILED against http:\/\/127\.0\.0\.1:9: /m);
  });
});
