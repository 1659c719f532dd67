import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callEvents,
  type Instance,
  principal,
  startInstance,
  testCallStore,
  testRedis,
} from './support/cluster.js';
import { type ChildInstance, spawnInstance } from './support/process.js';

const run = promisify(execFile);
const PROJECT = fileURLToPath(new URL('./android/', import.meta.url));

let child: ChildInstance;
let inProcess: Instance;
let redis: Redis;

beforeAll(async () => {
  redis = testRedis();
  [child, inProcess] = await Promise.all([spawnInstance(), startInstance()]);
}, 120_000);
afterAll(async () => {
  await child?.kill('SIGTERM');
  await inProcess?.close();
  await redis.quit();
});

describe('the Android client library (io.socket:socket.io-client, Java)', () => {
  it('completes a call flow between two phones on two instances', async () => {
    // First run downloads the library from Maven Central into ~/.m2; later runs are offline-fast.
    await run(
      'mvn',
      [
        '-q',
        '-B',
        'compile',
        'dependency:build-classpath',
        `-Dmdep.outputFile=${join('target', 'classpath.txt')}`,
      ],
      {
        cwd: PROJECT,
        timeout: 540_000,
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    const classpath = `${join(PROJECT, 'target', 'classes')}:${readFileSync(join(PROJECT, 'target', 'classpath.txt'), 'utf8').trim()}`;

    const caller = await principal(redis, 'user', 'Android Caller');
    const callee = await principal(redis, 'user', 'Android Callee');
    const res = await testCallStore(redis).create({
      callerId: caller.userId,
      callerKind: 'user',
      callerName: caller.displayName,
      calleeId: callee.userId,
      media: 'audio',
    });
    if (!res.ok) throw new Error('create failed');

    const { stdout } = await run('java', ['-cp', classpath, 'voip.check.CallFlow'], {
      cwd: PROJECT,
      timeout: 60_000,
      env: {
        ...process.env,
        CALL_ID: res.call.callId,
        CALLER_URL: child.url,
        CALLER_TOKEN: caller.token,
        CALLEE_URL: inProcess.url,
        CALLEE_TOKEN: callee.token,
      },
    }).catch((err: Error & { stdout?: string; stderr?: string }) => {
      throw new Error(`${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`);
    });
    expect(stdout).toContain('CALL_FLOW_OK');
    const events = await callEvents(redis, res.call.callId);
    expect(events.map((e) => e.type)).toEqual(['call.created', 'call.accepted', 'call.ended']);
    expect(events[2]?.data).toMatchObject({ endReason: 'hangup', outcome: 'answered' });
  }, 600_000);
});
