// A generator process: imports the module named on the command line and runs, on request over IPC, the
// functions it exports (`{rpc, fn, arg}` → `{rpc, result}` or `{rpc, error}`).
import { pathToFileURL } from 'node:url';

const mod = (await import(pathToFileURL(process.argv[2] ?? '').href)) as Record<
  string,
  (arg: unknown) => unknown
>;
process.on('message', async (m: { rpc?: number; fn?: string; arg?: unknown }) => {
  if (typeof m?.rpc !== 'number' || !m.fn) return;
  try {
    const f = mod[m.fn];
    if (typeof f !== 'function') throw new Error(`no function ${m.fn}`);
    const result = await f(m.arg);
    process.send?.({ rpc: m.rpc, result: result ?? null });
  } catch (err) {
    process.send?.({ rpc: m.rpc, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
