// The local certificate authority and the localhost certificate that Nginx (HTTPS/WSS) and coturn
// (TURN over TLS) serve in development and tests. Made with openssl in a state folder (`.voip/tls` for
// scripts/dev and turbo dev, each test stack's temp dir), never committed; reused while it is valid.
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tls from 'node:tls';

export interface LocalTls {
  /** The local authority's certificate: what a client trusts (NODE_EXTRA_CA_CERTS, Android, Java). */
  caFile: string;
  /** The server certificate (localhost, 127.0.0.1, ::1) followed by nothing: the CA is trusted directly. */
  certFile: string;
  keyFile: string;
  /** base64 SHA-256 of the server certificate's public key (Chromium --ignore-certificate-errors-spki-list). */
  spki: string;
}

const openssl = (args: string[], cwd: string) =>
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });

/** Still valid for at least a day, and the CA still signs it. */
function usable(caFile: string, certFile: string, keyFile: string): boolean {
  if (![caFile, certFile, keyFile].every((f) => existsSync(f))) return false;
  try {
    const ca = new X509Certificate(readFileSync(caFile));
    const cert = new X509Certificate(readFileSync(certFile));
    return cert.verify(ca.publicKey) && Date.parse(cert.validTo) > Date.now() + 86_400_000;
  } catch {
    return false;
  }
}

/**
 * A CA and a certificate for localhost and 127.0.0.1 in `<stateDir>/tls`, made once (EC P-256, SHA-256;
 * the server certificate lives 397 days, under the browsers' limit) and reused. Safe to call from
 * several processes at once: each makes its files in a private folder and renames it into place.
 */
export function ensureLocalTls(stateDir: string): LocalTls {
  const dir = join(stateDir, 'tls');
  const files = {
    caFile: join(dir, 'ca.pem'),
    certFile: join(dir, 'cert.pem'),
    keyFile: join(dir, 'key.pem'),
  };
  if (!usable(files.caFile, files.certFile, files.keyFile)) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    mkdirSync(tmp, { recursive: true, mode: 0o700 });
    try {
      writeFileSync(
        join(tmp, 'server.ext'),
        [
          'basicConstraints=critical,CA:FALSE',
          'keyUsage=critical,digitalSignature',
          'extendedKeyUsage=serverAuth',
          'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
          'subjectKeyIdentifier=hash',
          'authorityKeyIdentifier=keyid',
          '',
        ].join('\n'),
      );
      const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
      openssl(
        ['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '3650', '-sha256'].concat(
          [
            '-subj',
            '/CN=VoIP backend local development CA',
            '-addext',
            'basicConstraints=critical,CA:TRUE,pathlen:0',
            '-addext',
            'keyUsage=critical,keyCertSign,cRLSign',
          ],
        ),
        tmp,
      );
      openssl(
        ['req', '-new', ...ec, '-keyout', 'key.pem', '-out', 'server.csr', '-subj', '/CN=localhost'],
        tmp,
      );
      openssl(
        [
          'x509',
          '-req',
          '-in',
          'server.csr',
          '-CA',
          'ca.pem',
          '-CAkey',
          'ca-key.pem',
          '-CAcreateserial',
        ].concat(['-out', 'cert.pem', '-days', '397', '-sha256', '-extfile', 'server.ext']),
        tmp,
      );
      for (const f of ['server.csr', 'server.ext', 'ca.srl']) rmSync(join(tmp, f), { force: true });
      rmSync(dir, { recursive: true, force: true });
      try {
        renameSync(tmp, dir);
      } catch (err) {
        // Another process put its own in place first: use that one.
        if (!usable(files.caFile, files.certFile, files.keyFile)) throw err;
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
  const cert = new X509Certificate(readFileSync(files.certFile));
  const spkiDer = cert.publicKey.export({ type: 'spki', format: 'der' });
  return { ...files, spki: createHash('sha256').update(spkiDer).digest('base64') };
}

const trusted = new Set<string>();
/**
 * Makes this process trust `caFile` for every TLS connection it opens from now on (fetch, https,
 * ws, socket.io-client), on top of the system's authorities. Child processes need NODE_EXTRA_CA_CERTS.
 */
export function trustCaInProcess(caFile: string): void {
  const pem = readFileSync(caFile, 'utf8');
  if (trusted.has(pem)) return;
  trusted.add(pem);
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ...trusted]);
}
