// Refuses NEW connections at the HTTP level while this instance drains or is full: an engine.io handshake
// answered 503 lets Nginx (`proxy_next_upstream http_503`) try the next instance, whereas a Socket.io
// connect_error would reach the client from here, and Nginx's hash on the clientId would send its retry
// right back. Requests of existing sessions (a `sid` in the query) are always served.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Signaling } from '../realtime/context.js';

export interface AdmissionRefusal {
  code: 'DRAINING' | 'OVERLOADED';
  message: string;
}

/** Why this instance takes no new connection right now, or null when it does. */
export function admissionRefusal(ctx: Signaling): AdmissionRefusal | null {
  if (ctx.state.draining)
    return { code: 'DRAINING', message: 'this instance is shutting down; connect again' };
  // Engine clients include handshakes whose Socket.io connect is still on its way.
  const open = Math.max(ctx.io.engine.clientsCount, ctx.local.connectionCount());
  if (open >= ctx.config.MAX_CONNECTIONS)
    return { code: 'OVERLOADED', message: 'this instance is full; connect again' };
  return null;
}

/** An engine.io handshake: no `sid` yet (a polling GET or a WebSocket upgrade opening a session). */
function isHandshake(req: IncomingMessage): boolean {
  return !new URL(req.url ?? '/', 'http://localhost').searchParams.has('sid');
}

const bodyOf = (r: AdmissionRefusal) => JSON.stringify({ error: { code: r.code, message: r.message } });

/** Wraps the engine's request and upgrade entry points (engine.io's `allowRequest` can only answer 400/403). */
export function installHttpAdmission(ctx: Signaling): void {
  const engine = ctx.io.engine;
  const handleRequest = engine.handleRequest.bind(engine);
  const handleUpgrade = engine.handleUpgrade.bind(engine);

  const refusalFor = (req: IncomingMessage): AdmissionRefusal | null => {
    const refusal = admissionRefusal(ctx);
    if (!refusal || !isHandshake(req)) return null;
    ctx.metrics.connections.inc({ result: refusal.code });
    return refusal;
  };

  engine.handleRequest = (req: IncomingMessage, res: ServerResponse) => {
    const refusal = refusalFor(req);
    if (!refusal) return handleRequest(req, res);
    const body = bodyOf(refusal);
    res.writeHead(503, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      'Retry-After': '1',
    });
    res.end(body);
  };

  engine.handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = refusalFor(req);
    if (!refusal) return handleUpgrade(req, socket, head);
    const body = bodyOf(refusal);
    socket.on('error', () => undefined);
    socket.end(
      'HTTP/1.1 503 Service Unavailable\r\n' +
        'Connection: close\r\n' +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\n' +
        'Retry-After: 1\r\n' +
        `\r\n${body}`,
    );
  };
}
