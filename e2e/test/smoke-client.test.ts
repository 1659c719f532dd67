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
// The child gets no NODE_EXTRA_CA_CERTS from this process: it trusts the stack's CA only when told to.
const { NODE_EXTRA_CA_CERTS: _inherited, ...env } = process.env;
const run = (args: string[], extraEnv: Record<string, string> = {}) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      [script, ...args],
      { timeout: 90_000, env: { ...env, ...extraEnv } },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, out: `${stdout}${stderr}` }),
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

  it('completes one call through Nginx over HTTPS/WSS, trusting the CA it is given, and finds it answered', async () => {
    expect(stack.url).toMatch(/^https:/);
    const { code, out } = await run([stack.url, '--ca', stack.tls.caFile]);
    expect(out).toContain('smoke: ok');
    expect(code, out).toBe(0);
  });

  it('takes the CA from SMOKE_CA_FILE too, and refuses the door when it is given no CA', async () => {
    const viaEnv = await run([stack.url], { SMOKE_CA_FILE: stack.tls.caFile });
    expect(viaEnv.out).toContain('smoke: ok');
    expect(viaEnv.code, viaEnv.out).toBe(0);
    // Without the local CA the certificate is not trusted: one line, naming the door and the reason.
    const untrusted = await run([stack.url]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.out).toMatch(/^smoke: FAILED against https:\/\/localhost:\d+: .*certificate/m);
  });

  it('names a CA file that cannot be read', async () => {
    const { code, out } = await run([stack.url, '--ca', join(stateDir, 'no-such-ca.pem')]);
    expect(code).toBe(1);
    expect(out).toMatch(
      /^smoke: FAILED against https:\/\/localhost:\d+: cannot read the CA file .*no-such-ca\.pem/m,
    );
  });

  it('fails with one line naming the door when nothing answers there', async () => {
    const { code, out } = await run(['http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(out).toMatch(/^smoke: FAILED against http:\/\/127\.0\.0\.1:9: /m);
  });
});
