// A stand-in for Google's two endpoints the FCM provider talks to, as a real local HTTP server:
// the OAuth token endpoint (verifies the service account's RS256 JWT assertion) and FCM v1
// messages:send (checks the bearer token, records each message, and answers like FCM does for dead
// or malformed tokens). It can also fail (503 or 429, with a chosen Retry-After), hang (never answer) or
// be stopped (connection refused).
import { createVerify, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentMessage {
  project: string;
  message: {
    token: string;
    data: Record<string, string>;
    android?: { priority?: string; ttl?: string };
    apns?: { headers?: Record<string, string> };
  };
}

export interface FcmStandIn {
  url: string;
  tokenUrl: string;
  serviceAccountJson: string;
  projectId: string;
  sent: SentMessage[];
  /** every request to messages:send, answered or not */
  sendAttempts: number;
  tokenRequests: number;
  /** push tokens FCM no longer knows (404 UNREGISTERED) and malformed ones (400 INVALID_ARGUMENT) */
  unregistered: Set<string>;
  malformed: Set<string>;
  mode: 'up' | 'unavailable' | 'hang';
  /** How 'unavailable' answers: 503, or 429 (quota exceeded), with this Retry-After ('' sends none). */
  unavailableStatus: 503 | 429;
  retryAfter: string;
  /** `expires_in` (seconds) of the access tokens it issues; Google's are 3599. */
  tokenExpiresIn: number;
  /** Answers every request held in 'hang' mode with success. */
  release(): void;
  /** Revokes the issued access tokens (the next send gets 401). */
  revokeAccessTokens(): void;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => {
      s += c.toString();
    });
    req.on('end', () => resolve(s));
  });

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function verifyAssertion(assertion: string, key: KeyObject): Record<string, unknown> | null {
  const [h, p, sig] = assertion.split('.');
  if (!h || !p || !sig) return null;
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg?: string };
  if (header.alg !== 'RS256') return null;
  const ok = createVerify('RSA-SHA256').update(`${h}.${p}`).verify(key, Buffer.from(sig, 'base64url'));
  return ok ? (JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>) : null;
}

export async function startFcmStandIn(projectId = 'voip-test'): Promise<FcmStandIn> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = 'push@voip-test.iam.gserviceaccount.com';
  let issued = new Set<string>();
  let counter = 0;
  const hanging = new Map<ServerResponse, { project: string; body: string }>();

  const state: FcmStandIn = {
    url: '',
    tokenUrl: '',
    serviceAccountJson: '',
    projectId,
    sent: [],
    sendAttempts: 0,
    tokenRequests: 0,
    unregistered: new Set(),
    malformed: new Set(),
    mode: 'up',
    unavailableStatus: 503,
    retryAfter: '0',
    tokenExpiresIn: 3599,
    release() {
      for (const [res, held] of hanging) {
        const msg = JSON.parse(held.body) as SentMessage;
        state.sent.push({ project: held.project, message: msg.message });
        send(res, 200, { name: `projects/${held.project}/messages/held-${state.sent.length}` });
      }
      hanging.clear();
    },
    revokeAccessTokens() {
      issued = new Set();
    },
    close: async () => undefined,
  };

  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    if (req.method === 'POST' && req.url === '/token') {
      state.tokenRequests++;
      const form = new URLSearchParams(body);
      const claims =
        form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer'
          ? verifyAssertion(form.get('assertion') ?? '', publicKey)
          : null;
      if (
        !claims ||
        claims.iss !== clientEmail ||
        claims.aud !== state.tokenUrl ||
        claims.scope !== 'https://www.googleapis.com/auth/firebase.messaging'
      )
        return send(res, 400, { error: 'invalid_grant' });
      const token = `ya29.test-${++counter}`;
      issued.add(token);
      return send(res, 200, { access_token: token, expires_in: state.tokenExpiresIn, token_type: 'Bearer' });
    }
    const m = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(req.url ?? '');
    if (req.method === 'POST' && m) {
      state.sendAttempts++;
      if (state.mode === 'hang') {
        hanging.set(res, { project: decodeURIComponent(m[1]!), body });
        return;
      }
      if (state.mode === 'unavailable') {
        const code = state.unavailableStatus;
        return send(
          res,
          code,
          {
            error: {
              code,
              status: code === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE',
              message: 'try later',
            },
          },
          state.retryAfter ? { 'retry-after': state.retryAfter } : {},
        );
      }
      const auth = req.headers.authorization ?? '';
      if (!issued.has(auth.replace(/^Bearer /, '')))
        return send(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'bad token' } });
      const msg = JSON.parse(body) as SentMessage;
      const token = msg.message?.token;
      if (state.unregistered.has(token))
        return send(res, 404, {
          error: {
            code: 404,
            status: 'NOT_FOUND',
            message: 'Requested entity was not found.',
            details: [
              { '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError', errorCode: 'UNREGISTERED' },
            ],
          },
        });
      if (state.malformed.has(token))
        return send(res, 400, {
          error: {
            code: 400,
            status: 'INVALID_ARGUMENT',
            message: 'The registration token is not a valid FCM registration token',
            details: [
              {
                '@type': 'type.googleapis.com/google.firebase.fcm.v1.FcmError',
                errorCode: 'INVALID_ARGUMENT',
              },
              {
                '@type': 'type.googleapis.com/google.rpc.BadRequest',
                fieldViolations: [{ field: 'message.token' }],
              },
            ],
          },
        });
      state.sent.push({ project: decodeURIComponent(m[1]!), message: msg.message });
      return send(res, 200, { name: `projects/${m[1]}/messages/${counter}-${state.sent.length}` });
    }
    send(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: 'no such route' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  state.tokenUrl = `${state.url}/token`;
  state.serviceAccountJson = JSON.stringify({
    type: 'service_account',
    project_id: projectId,
    private_key_id: 'test-key-1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    token_uri: state.tokenUrl,
  });
  let closed = false;
  state.close = async () => {
    if (closed) return;
    closed = true;
    for (const r of hanging.keys()) r.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
