// Refuses NEW connections at the HTTP level while this instance drains or is full: an engine.io handshake
// answered 503 lets Nginx (`proxy_next_upstream http_503`) try the next instance, whereas a Socket.io
// connect_error would reach the client from here, and Nginx's hash on the clientId would send its retry
// right back. Requests of existing sessions (a `sid` in the query) are always served.
// It also limits, per client address, the engine.io connections that have not become an authenticated
// Socket.io connection yet: a raw upgrade that never sends CONNECT costs a socket until connectTimeout,
// and the Socket.io handshake middleware (with its own per-address rate) never sees it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Signaling } from '../realtime/context.js';
import { addressOf, trustedProxies } from './handshake.js';

export interface AdmissionRefusal {
  code: 'DRAINING' | 'OVERLOADED' | 'RATE_LIMITED';
  message: string;
}

const statusOf: Record<AdmissionRefusal['code'], [number, string]> = {
  DRAINING: [503, 'Service Unavailable'],
  OVERLOADED: [503, 'Service Unavailable'],
  RATE_LIMITED: [429, 'Too Many Requests'],
};

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

/** The engine.io connection as far as this file needs it. */
interface EngineConnection {
  request: IncomingMessage;
  once(event: 'close', listener: () => void): unknown;
}

/**
 * Engine connections per client address that have not authenticated (sent a Socket.io CONNECT that the
 * handshake accepted) yet; per instance, in memory: Nginx's `limit_conn` is the limit across instances.
 */
function createUnauthenticatedCounter() {
  const addressOfConn = new Map<EngineConnection, string>();
  const perAddress = new Map<string, number>();
  const release = (conn: EngineConnection) => {
    const address = addressOfConn.get(conn);
    if (address === undefined) return;
    addressOfConn.delete(conn);
    const n = (perAddress.get(address) ?? 1) - 1;
    if (n > 0) perAddress.set(address, n);
    else perAddress.delete(address);
  };
  return {
    count: (address: string) => perAddress.get(address) ?? 0,
    opened(conn: EngineConnection, address: string) {
      addressOfConn.set(conn, address);
      perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
      conn.once('close', () => release(conn));
    },
    authenticated: release,
  };
}

/** Wraps the engine's request and upgrade entry points (engine.io's `allowRequest` can only answer 400/403). */
export function installHttpAdmission(ctx: Signaling): void {
  const engine = ctx.io.engine;
  const handleRequest = engine.handleRequest.bind(engine);
  const handleUpgrade = engine.handleUpgrade.bind(engine);
  const trusted = trustedProxies(ctx.config.TRUST_PROXY);
  const requestAddress = (req: IncomingMessage) =>
    addressOf(req.socket.remoteAddress ?? '', req.headers['x-forwarded-for'], trusted);
  const unauthenticated = createUnauthenticatedCounter();
  engine.on('connection', (conn: EngineConnection) =>
    unauthenticated.opened(conn, requestAddress(conn.request)),
  );
  ctx.io.on('connection', (socket) => unauthenticated.authenticated(socket.conn));

  const refusalFor = (req: IncomingMessage): AdmissionRefusal | null => {
    if (!isHandshake(req)) return null;
    const refusal =
      admissionRefusal(ctx) ??
      (unauthenticated.count(requestAddress(req)) >= ctx.config.UNAUTHENTICATED_PER_IP
        ? {
            code: 'RATE_LIMITED' as const,
            message: 'too many connections from your address; connect again later',
          }
        : null);
    if (refusal) ctx.metrics.connections.inc({ result: refusal.code });
    return refusal;
  };

  engine.handleRequest = (req: IncomingMessage, res: ServerResponse) => {
    const refusal = refusalFor(req);
    if (!refusal) return handleRequest(req, res);
    const body = bodyOf(refusal);
    res.writeHead(statusOf[refusal.code][0], {
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
    const [status, text] = statusOf[refusal.code];
    socket.end(
      `HTTP/1.1 ${status} ${text}\r\n` +
        'Connection: close\r\n' +
        'Content-Type: application/json\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'Cache-Control: no-store\r\n' +
        'Retry-After: 1\r\n' +
        `\r\n${body}`,
    );
  };
}
