// Who may connect: the Socket.io handshake middleware. Refuses while draining or full (a backstop: the
// engine handshake is already refused with HTTP 503 then, see admission.ts), throttles
// connections per IP, validates `auth: {token, clientId, resumeToken?}`, verifies the access token and
// that its session is live. Refusals are `connect_error` with `data.code` (API.md).
import { createHash } from 'node:crypto';
import { BlockList, isIPv6 } from 'node:net';
import { HandshakeAuth } from '@voip/contracts/socket';
import { validator } from '@voip/contracts/validate';
import { verifyAccess } from '@voip/kit/authenticate';
import { AppError } from '@voip/kit/errors';
import type { FixedWindowLimiter } from '@voip/kit/rate-limit';
import type { Signaling } from '../realtime/context.js';
import type { SignalingSocket } from '../realtime/types.js';

const handshakeValidator = validator(HandshakeAuth);

export const sha256 = (s: string) => createHash('sha256').update(s).digest('base64url');

type ConnectErrorCode = 'UNAUTHORIZED' | 'TOKEN_EXPIRED' | 'RATE_LIMITED' | 'SESSION_REVOKED' | 'OVERLOADED';

class ConnectError extends Error {
  readonly data: { code: ConnectErrorCode; retryAfterMs?: number };
  constructor(code: ConnectErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.data = { code, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
}

/** The TRUST_PROXY list (addresses and CIDRs) as a matcher: only those may tell us the client's address. */
export function trustedProxies(list: string): BlockList {
  const bl = new BlockList();
  for (const raw of list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [addr, bits] = raw.split('/');
    if (!addr) continue;
    const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
    try {
      if (bits) bl.addSubnet(addr, Number(bits), type);
      else bl.addAddress(addr, type);
    } catch {
      // An entry that is not an IP literal (e.g. "true") trusts nobody here.
    }
  }
  return bl;
}

export function clientIp(handshake: SignalingSocket['handshake'], trusted: BlockList): string {
  return addressOf(handshake.address, handshake.headers['x-forwarded-for'], trusted);
}

/** The client's address from the peer address and X-Forwarded-For (believed from a trusted proxy only). */
export function addressOf(peer: string, xff: string | string[] | undefined, trusted: BlockList): string {
  const remote = peer.replace(/^::ffff:/, '');
  const isTrusted = trusted.check(remote, isIPv6(remote) ? 'ipv6' : 'ipv4');
  if (isTrusted && typeof xff === 'string' && xff.length > 0) {
    const first = xff.split(',')[0]?.trim();
    if (first) return first;
  }
  return remote;
}

export function installHandshake(ctx: Signaling, ipLimiter: FixedWindowLimiter): void {
  const { io, app, config, metrics, local } = ctx;
  const trusted = trustedProxies(config.TRUST_PROXY);

  io.use(async (socket, next) => {
    const refuse = (err: ConnectError) => {
      metrics.connections.inc({ result: err.data.code });
      next(err);
    };
    try {
      if (ctx.state.draining)
        return refuse(new ConnectError('OVERLOADED', 'this instance is shutting down; connect again'));
      if (local.connectionCount() >= config.MAX_CONNECTIONS)
        return refuse(new ConnectError('OVERLOADED', 'this instance is full; connect again'));
      const ip = clientIp(socket.handshake, trusted);
      const rate = await ipLimiter.hit(ip);
      if (!rate.allowed)
        return refuse(
          new ConnectError('RATE_LIMITED', 'too many connections from your address', rate.retryAfterMs),
        );

      const auth: unknown = socket.handshake.auth;
      if (!handshakeValidator.check(auth))
        return refuse(
          new ConnectError(
            'UNAUTHORIZED',
            `handshake auth must be {token, clientId}: ${handshakeValidator.explain(auth)}`,
          ),
        );
      const principal = await verifyAccess(auth.token, app.tokens, app.sessions);
      if (principal.kind === 'service') return refuse(new ConnectError('UNAUTHORIZED', 'not a user token'));

      const now = Date.now();
      socket.data = {
        userId: principal.id,
        kind: principal.kind,
        displayName: principal.displayName ?? '',
        sessionId: principal.sessionId,
        clientId: auth.clientId,
        ip,
        presentedResumeTokenHash: auth.resumeToken ? sha256(auth.resumeToken) : '',
        lastSeq: auth.lastSeq === undefined ? null : Number(auth.lastSeq),
        queue: Promise.resolve(),
        lastSeenMs: now,
        tokens: config.EVENT_BURST,
        tokensAtMs: now,
        waiting: { count: 0, bytes: 0 },
        callId: null,
      };
      // The access and resume tokens are not kept for the socket's life (memory per idle socket, and
      // secrets need not linger): everything needed from them is in socket.data now.
      socket.handshake.auth = { clientId: auth.clientId };
      metrics.connections.inc({ result: 'accepted' });
      next();
    } catch (err) {
      if (err instanceof AppError) {
        const code: ConnectErrorCode =
          err.code === 'TOKEN_EXPIRED'
            ? 'TOKEN_EXPIRED'
            : err.code === 'SESSION_REVOKED'
              ? 'SESSION_REVOKED'
              : 'UNAUTHORIZED';
        return refuse(new ConnectError(code, err.message));
      }
      app.log.error({ err }, 'handshake failed');
      refuse(new ConnectError('OVERLOADED', 'temporarily unavailable; connect again'));
    }
  });
}
