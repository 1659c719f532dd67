// The Android app's own Socket.io library (io.socket:socket.io-client 2.x over OkHttp, run on a desktop
// JVM) completes a call over WSS through Nginx, trusting the stack's local CA the way an app trusts a CA
// named in its network security config. The Java program is apps/signaling/test/android (CallFlow).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Stack, startStack } from '@voip/dev-stack/stack';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Account, call, register } from '@voip/testkit/public-client';

const run = promisify(execFile);
const PROJECT = resolve(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  'apps',
  'signaling',
  'test',
  'android',
);

describe('the Android client library over WSS through Nginx', () => {
  let stack: Stack;
  let stateDir: string;
  let buildDir: string;
  let alice: Account;
  let bob: Account;

  beforeAll(async () => {
    stateDir = mkdtempSync(join(tmpdir(), 'voip-e2e-android-'));
    // Its own Maven build folder: the signaling package's test builds the same project meanwhile.
    buildDir = join(stateDir, 'java');
    stack = await startStack({
      stateDir,
      coturn: false,
      logLevel: process.env.VOIP_TEST_LOG_LEVEL ?? 'warn',
      serviceEnv: { gateway: { HEALTH_CHECK_INTERVAL_MS: '200' } },
    });
    [alice, bob] = await Promise.all([register(stack.url, 'Alice'), register(stack.url, 'Bob')]);
  });

  afterAll(async () => {
    await stack?.stopAll();
    if (stateDir && !process.env.VOIP_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  });

  async function callFlow(url: string, callId: string, caFile?: string) {
    return run('java', ['-cp', classpath(), 'voip.check.CallFlow'], {
      cwd: PROJECT,
      timeout: 90_000,
      env: {
        ...process.env,
        CALL_ID: callId,
        CALLER_URL: url,
        CALLER_TOKEN: alice.accessToken,
        CALLEE_URL: url,
        CALLEE_TOKEN: bob.accessToken,
        ...(caFile ? { CA_FILE: caFile } : {}),
      },
    }).then(
      (r) => ({ ok: true, stdout: r.stdout }),
      (err: Error & { stdout?: string; stderr?: string }) => ({
        ok: false,
        stdout: `${err.stdout ?? ''}\n${err.stderr ?? ''}`,
      }),
    );
  }
  const classpath = () =>
    `${join(buildDir, 'classes')}:${readFileSync(join(buildDir, 'classpath.txt'), 'utf8').trim()}`;

  async function placeCall(): Promise<string> {
    // Bob's profile reaches the user service over the bus: the call can be placed once it has.
    const res = await vi.waitFor(
      async () => {
        const r = await call(stack.url, 'POST', '/api/calls', {
          token: alice.accessToken,
          body: { calleeId: bob.id, media: 'audio' },
        });
        expect(r.status, r.text).toBe(201);
        return r;
      },
      { timeout: 15_000, interval: 200 },
    );
    return res.body.callId as string;
  }

  it('connects with the local CA trusted and completes a call; refuses the server without it', async () => {
    expect(stack.url).toMatch(/^https:\/\/localhost:\d+$/);
    // First run downloads the library from Maven Central into ~/.m2; later runs are offline-fast.
    await run(
      'mvn',
      ['-q', '-B', `-Dvoip.buildDir=${buildDir}`, 'compile', 'dependency:build-classpath'].concat(
        `-Dmdep.outputFile=${join(buildDir, 'classpath.txt')}`,
      ),
      { cwd: PROJECT, timeout: 540_000, maxBuffer: 16 * 1024 * 1024 },
    );

    // Without the CA, OkHttp refuses the certificate: nothing here works by skipping verification.
    // (It fails at connect, before any call: no call needs placing for it.)
    const untrusted = await callFlow(stack.url, '01ARZ3NDEKTSV4RRFFQ69G5FAV');
    expect(untrusted.ok, untrusted.stdout).toBe(false);
    expect(untrusted.stdout).toMatch(
      /CALL_FLOW_FAILED (caller|callee) connect_error: .*SSLHandshakeException/,
    );

    const callId = await placeCall();
    const flow = await callFlow(stack.url, callId, stack.tls.caFile);
    expect(flow.stdout).toContain('CALL_FLOW_OK');
    expect(flow.ok).toBe(true);
    // The call really went through: ended by the caller's hang-up after being answered.
    const record = await vi.waitFor(
      async () => {
        const r = await call(stack.url, 'GET', `/api/calls/${callId}`, { token: alice.accessToken });
        expect(r.body.state ?? r.body.call?.state, r.text).toBe('ended');
        return r;
      },
      { timeout: 15_000, interval: 250 },
    );
    expect(record.text).toContain('answered');
  }, 600_000);
});
