// A real HTTP proxy that holds some requests back before passing them on, or their answers before passing
// those back: a busy upstream, for the requests a test picks by their body (the media tests hold Janus's
// room `create` past the sweep interval, one `publish` past the media service's Janus timeout, or the
// answer to a subscriber's `join` until after Janus's event for it has come on the long poll). The target is looked up per request (a port
// known only once a stack is up); while there is none, or it does not answer, the client's connection is
// dropped, as the upstream being away would.
import { createServer, type IncomingMessage, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HoldingProxy {
  /** `http://127.0.0.1:<port>`: give it where the upstream's origin would go. */
  origin: string;
  /** How many requests were held back so far. */
  held(): number;
  close(): Promise<void>;
}

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};

export async function startHoldingProxy(opts: {
  /** The upstream's origin (`http://127.0.0.1:<port>`), once known. */
  target: () => string | undefined;
  /** How long to hold a request with this body (0: pass it at once). Called once per request. */
  holdMs: (body: string) => number;
  /** How long to hold the answer to a request with this body (default: none). */
  holdAnswerMs?: (body: string) => number;
}): Promise<HoldingProxy> {
  let held = 0;
  const server = createServer(async (req, res) => {
    const body = await readBody(req);
    const origin = opts.target();
    if (!origin) return void res.socket?.destroy();
    const text = body.toString('utf8');
    const ms = opts.holdMs(text);
    const answerMs = opts.holdAnswerMs?.(text) ?? 0;
    if (ms > 0 || answerMs > 0) held++;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    const up = request(
      new URL(req.url ?? '/', origin),
      { method: req.method, headers: { ...req.headers, host: new URL(origin).host } },
      (upRes) => {
        const pass = () => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        };
        if (answerMs > 0) setTimeout(pass, answerMs);
        else pass();
      },
    );
    up.on('error', () => res.socket?.destroy());
    res.on('close', () => up.destroy());
    up.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    held: () => held,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
