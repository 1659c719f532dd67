// infra/docker/local-cert.sh: the CA and localhost certificate the compose stack serves when nothing else
// is configured (CI's smoke test, trying compose on one machine). Checked for real: the files land where
// compose's default mounts look, Node completes a TLS handshake with them trusting only that CA, the key
// is readable by the images' users, a valid set is kept and one its CA does not sign is replaced.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, get } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { composeConfig, minimalEnv } from '../src/compose.js';
import { repoRoot } from '../src/generate.js';

const root = repoRoot();
const dir = mkdtempSync(join(tmpdir(), 'local-cert-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'infra', 'docker'), { recursive: true });
copyFileSync(join(root, 'infra/docker/local-cert.sh'), join(dir, 'infra/docker/local-cert.sh'));
copyFileSync(join(root, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
const tlsDir = join(dir, '.voip', 'tls');
const run = () =>
  spawnSync('sh', [join(dir, 'infra/docker/local-cert.sh')], { encoding: 'utf8', env: minimalEnv() });

/** GET https://<host>:<port>/ from a server with the certificate, trusting `ca` (or only the system's). */
async function handshake(host: string, ca?: string): Promise<string> {
  const server = createServer(
    { cert: readFileSync(join(tlsDir, 'cert.pem')), key: readFileSync(join(tlsDir, 'key.pem')) },
    (_req, res) => res.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise<string>((resolve) => {
      get(
        { host: '127.0.0.1', servername: host, headers: { host }, port, path: '/', ...(ca ? { ca } : {}) },
        (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve(body));
        },
      ).on('error', (err) => resolve(`error: ${err.message}`));
    });
  } finally {
    server.close();
  }
}

describe('infra/docker/local-cert.sh', () => {
  it('writes a CA and a localhost certificate where compose mounts them, that a client trusting the CA accepts', async () => {
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain('local-cert: wrote .voip/tls/cert.pem and .voip/tls/key.pem');
    // compose's default mounts (TLS_CERT_FILE, TLS_KEY_FILE unset) for Nginx and coturn are these files.
    const res = composeConfig(join(dir, 'docker-compose.yml'), join(root, '.env.example'));
    expect(res.ok, res.stderr).toBe(true);
    for (const svc of ['nginx', 'coturn']) {
      const sources = (res.config?.services[svc]?.volumes ?? []).map((v) => String(v).split(':')[0]);
      expect(sources, svc).toContain(join(tlsDir, 'cert.pem'));
      expect(sources, svc).toContain(join(tlsDir, 'key.pem'));
    }
    const ca = readFileSync(join(tlsDir, 'ca.pem'), 'utf8');
    expect(await handshake('localhost', ca)).toBe('ok');
    expect(await handshake('127.0.0.1', ca)).toBe('ok');
    // Not trusted without the CA, and not valid for another name.
    expect(await handshake('localhost')).toMatch(/^error: .*certificate/);
    expect(await handshake('voip.example.com', ca)).toMatch(/^error: .*(altnames|Hostname)/i);
    // Readable by the images' users (Nginx uid 101, coturn's nobody); the CA's key is gone.
    expect(statSync(join(tlsDir, 'key.pem')).mode & 0o777).toBe(0o644);
    expect(() => statSync(join(tlsDir, 'ca-key.pem'))).toThrow();
  });

  it('keeps a valid set (made by it or by the dev stack) and replaces one its CA does not sign', () => {
    const cert = readFileSync(join(tlsDir, 'cert.pem'), 'utf8');
    const second = run();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout).toContain('still valid; kept');
    expect(readFileSync(join(tlsDir, 'cert.pem'), 'utf8')).toBe(cert);
    // Another CA in place (say, a half-copied folder): the certificate no longer verifies, so a new set.
    const other = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        '/dev/null',
      ].concat(['-subj', '/CN=other', '-days', '1']),
      { encoding: 'utf8' },
    );
    expect(other.status, other.stderr).toBe(0);
    writeFileSync(join(tlsDir, 'ca.pem'), other.stdout);
    const third = run();
    expect(third.status, third.stderr).toBe(0);
    expect(third.stdout).toContain('local-cert: wrote');
    expect(readFileSync(join(tlsDir, 'cert.pem'), 'utf8')).not.toBe(cert);
    const verify = spawnSync(
      'openssl',
      ['verify', '-CAfile', join(tlsDir, 'ca.pem'), join(tlsDir, 'cert.pem')],
      {
        encoding: 'utf8',
      },
    );
    expect(verify.stdout).toContain(': OK');
  });
});
