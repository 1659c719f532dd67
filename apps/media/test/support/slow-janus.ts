// A real HTTP proxy between the media service and Janus that holds back the room-creating request: the
// recording's room takes longer to open than the media service's sweep interval, as with a busy Janus.
// The target is looked up per request (Janus's port is known only once the stack is up); while there is
// none, or Janus does not answer, the client's connection is dropped, as Janus being away would.
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlowJanus {
  /** The Janus URL the media service is given (`http://127.0.0.1:<port>/janus`). */
  url: string;
  /** How many requests were held back so far. */
  held(): number;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

export async function startSlowJanus(opts: {
  /** Janus's own origin (`http://127.0.0.1:<port>`), once known. */
  target: () => string | undefined;
  /** Held back this long: a VideoRoom `create`. */
  delayMs: number;
}): Promise<SlowJanus> {
  let held = 0;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const origin = opts.target();
    if (!origin) return void res.socket?.destroy();
    if (/"request"\s*:\s*"create"/.test(body.toString('utf8'))) {
      held++;
      await new Promise((r) => setTimeout(r, opts.delayMs));
    }
    const up = request(
      new URL(req.url ?? '/', origin),
      { method: req.method, headers: { ...req.headers, host: new URL(origin).host } },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    res.on('close', () => up.destroy());
    up.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/janus`,
    held: () => held,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
