// Generator of the connections scenario: opens idle sockets (lib/sio.ts, raw engine.io over ws) with
// bounded concurrency, spread over source addresses; they answer pings and do nothing else.
import { connectSio, type SioClient, sourceAddresses } from '../lib/sio.ts';

const open: SioClient[] = [];
const source = sourceAddresses();

export async function connect(a: {
  url: string;
  auths: Record<string, unknown>[];
  concurrency: number;
}): Promise<{ opened: number; failed: number; elapsedMs: number; firstError: string | null }> {
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const lane = async () => {
    while (next < a.auths.length) {
      const auth = a.auths[next++]!;
      try {
        const c = await connectSio(a.url, { auth, localAddress: source(), timeoutMs: 60_000 });
        open.push(c);
      } catch (err) {
        failed++;
        firstError ??= (err as Error).message;
      }
    }
  };
  await Promise.all(Array.from({ length: a.concurrency }, lane));
  return { opened: a.auths.length - failed, failed, elapsedMs: performance.now() - t0, firstError };
}

export async function closeAll(): Promise<{ closed: number }> {
  const n = open.length;
  for (const c of open.splice(0)) c.ws.terminate();
  await new Promise((r) => setTimeout(r, 200));
  return { closed: n };
}
