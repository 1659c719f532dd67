// Google's two endpoints the call service's FCM provider talks to, as a real local HTTP server: the
// OAuth token endpoint (any assertion gets a token; apps/call's own tests check the assertion) and FCM v1
// messages:send, which records every message. What lives outside this machine, and nothing more.
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentPush {
  token: string;
  data: Record<string, string>;
  android?: { priority?: string; ttl?: string };
  notification?: unknown;
}

export interface FcmStandIn {
  url: string;
  projectId: string;
  serviceAccountJson: string;
  sent: SentPush[];
  close(): Promise<void>;
}

export async function startFcmStandIn(): Promise<FcmStandIn> {
  const projectId = 'voip-android-test';
  const sent: SentPush[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/token') {
        res.end(JSON.stringify({ access_token: 'standin-token', expires_in: 3600, token_type: 'Bearer' }));
        return;
      }
      if (req.method === 'POST' && req.url === `/v1/projects/${projectId}/messages:send`) {
        if (req.headers.authorization !== 'Bearer standin-token') {
          res.statusCode = 401;
          res.end('{"error":{"code":401,"status":"UNAUTHENTICATED"}}');
          return;
        }
        const { message } = JSON.parse(body) as { message: SentPush };
        sent.push(message);
        res.end(JSON.stringify({ name: `projects/${projectId}/messages/${sent.length}` }));
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    url,
    projectId,
    serviceAccountJson: JSON.stringify({
      type: 'service_account',
      project_id: projectId,
      client_email: 'push@voip-android-test.iam.gserviceaccount.com',
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      token_uri: `${url}/token`,
    }),
    sent,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
