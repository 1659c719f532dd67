// The PhoneDriver (src/test/java/voip/client/driver) as a child JVM: commands as JSON lines on stdin,
// replies and the library's events as "@@ " lines on stdout, so a test can script the Java library and
// the TypeScript SDK against each other.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export type PhoneEvent = Record<string, unknown> & { event?: string; media?: string };

export class JavaPhone {
  readonly events: PhoneEvent[] = [];
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #replies = new Map<number, (r: { result?: unknown; error?: string }) => void>();
  readonly #waiters: { match: (e: PhoneEvent) => boolean; resolve: (e: PhoneEvent) => void }[] = [];
  readonly #ready: Promise<void>;
  #seq = 0;
  stderr = '';

  constructor(readonly name: string) {
    const cp = readFileSync(`${ROOT}target/classpath.txt`, 'utf8').trim();
    this.#child = spawn(
      'java',
      ['-cp', `${ROOT}target/classes:${ROOT}target/test-classes:${cp}`, 'voip.client.driver.PhoneDriver'],
      { cwd: ROOT, stdio: 'pipe' },
    );
    this.#child.stderr.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    let ready: () => void = () => undefined;
    this.#ready = new Promise((r) => {
      ready = r;
    });
    createInterface({ input: this.#child.stdout }).on('line', (line) => {
      if (!line.startsWith('@@ ')) return;
      const msg = JSON.parse(line.slice(3)) as PhoneEvent & { id?: number; ready?: boolean };
      if (msg.ready) return ready();
      if (typeof msg.id === 'number') {
        this.#replies.get(msg.id)?.(msg as { result?: unknown; error?: string });
        this.#replies.delete(msg.id);
        return;
      }
      this.events.push(msg);
      for (const w of [...this.#waiters])
        if (w.match(msg)) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          w.resolve(msg);
        }
    });
  }

  /** Runs one command; rejects with the library's error code (e.g. CALLEE_BUSY) when it failed. */
  async run<T = unknown>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 30_000): Promise<T> {
    await this.#ready;
    const id = ++this.#seq;
    const reply = new Promise<{ result?: unknown; error?: string }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no reply to ${cmd}\n${this.stderr}`)),
        timeoutMs,
      );
      this.#replies.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
    this.#child.stdin.write(`${JSON.stringify({ id, cmd, ...args })}\n`);
    const r = await reply;
    if (r.error !== undefined)
      throw Object.assign(new Error(`${this.name} ${cmd}: ${r.error}`), { code: r.error });
    return r.result as T;
  }

  /** The first event (already seen or still to come) matching `match`. */
  waitFor(match: (e: PhoneEvent) => boolean, what: string, timeoutMs = 20_000): Promise<PhoneEvent> {
    const seen = this.events.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.name}: never saw ${what}; saw ${JSON.stringify(this.events.slice(-15))}\n${this.stderr}`,
            ),
          ),
        timeoutMs,
      );
      this.#waiters.push({
        match,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  event(name: string, extra: (e: PhoneEvent) => boolean = () => true, timeoutMs?: number) {
    return this.waitFor((e) => e.event === name && extra(e), name, timeoutMs);
  }

  stop(): void {
    this.#child.stdin.end();
    this.#child.kill('SIGTERM');
  }
}
