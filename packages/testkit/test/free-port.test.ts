// freePort hands a port out once: the kernel's listen(0) repeats itself (here, 3 to 8 repeats in 300
// calls), and a stack that got one port twice started one service on the other's port. Another test
// process's claims are respected while it lives.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { freePort } from '../src/servers.js';

describe('freePort', () => {
  it('never hands out the same port twice in one process', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 400; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('skips the ports another live test process has claimed', async () => {
    const servers = fileURLToPath(new URL('../src/servers.ts', import.meta.url));
    // A second process claims 300 ports, prints them, and waits for its stdin to close.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { freePort } = await import(${JSON.stringify(servers)});
         const ports = []; for (let i = 0; i < 300; i++) ports.push(await freePort());
         console.log(JSON.stringify(ports)); process.stdin.resume();`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const line = await new Promise<string>((resolve) =>
      createInterface({ input: child.stdout! }).once('line', resolve),
    );
    const theirs = new Set(JSON.parse(line) as number[]);
    try {
      const ours: number[] = [];
      for (let i = 0; i < 300; i++) ours.push(await freePort());
      expect(ours.filter((p) => theirs.has(p))).toEqual([]);
    } finally {
      child.stdin!.end();
      await new Promise((r) => child.once('exit', r));
    }
  });
});
