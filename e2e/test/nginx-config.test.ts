// The docker-compose nginx.conf is the rendered template (not a hand-edited copy), and real Nginx
// accepts it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureLocalTls } from '@voip/dev-stack/tls';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const render = join(root, 'infra', 'nginx', 'render-config.mjs');

describe('infra/nginx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'voip-nginx-conf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has a nginx.conf for docker-compose that is up to date with the template', () => {
    const r = spawnSync(process.execPath, [render, '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const conf = readFileSync(join(root, 'infra', 'nginx', 'nginx.conf'), 'utf8');
    expect(conf).toContain('server gateway:3000;');
    expect(conf).toContain('server signaling-1:3004 max_fails=0;');
    expect(conf).toContain('server signaling-2:3004 max_fails=0;');
    expect(conf).toContain('root /usr/share/nginx/html;');
    // HTTPS and WSS on 443 with the mounted certificate, TLS 1.2/1.3 only, HSTS; port 80 only redirects
    // (and answers ACME challenges).
    expect(conf).toContain('listen 443 ssl http2;');
    expect(conf).toContain('ssl_certificate     /etc/nginx/tls/fullchain.pem;');
    expect(conf).toContain('ssl_protocols TLSv1.2 TLSv1.3;');
    expect(conf).toContain('add_header Strict-Transport-Security "max-age=63072000" always;');
    expect(conf).toContain('return 301 https://$host$request_uri;');
    expect(conf).toContain('location /.well-known/acme-challenge/ {');
    expect(conf).not.toMatch(/^\s*listen 80 ssl/m);
    expect(conf).not.toContain('@@');
  });

  it('notices a stale nginx.conf', () => {
    const stale = join(dir, 'stale.conf');
    writeFileSync(stale, '# hand-edited\n');
    const r = spawnSync(process.execPath, [render, '--check', '--out', stale], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('out of date');
  });

  /** Renders nginx.conf (with `edit` applied) and runs `nginx -t` on it. */
  function nginxTest(name: string, edit: (conf: string) => string = (c) => c) {
    // Same renderer, addresses that resolve here, and paths this user may write.
    const out = join(dir, `${name}.conf`);
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    const tls = ensureLocalTls(dir);
    execFileSync(process.execPath, [
      render,
      '--port=18081',
      '--http-port=18080',
      `--cert=${tls.certFile}`,
      `--key=${tls.keyFile}`,
      `--acme-root=${dir}`,
      '--gateway=127.0.0.1:3000',
      '--signaling=127.0.0.1:3004,127.0.0.1:3005',
      `--web-root=${dir}`,
      `--out=${out}`,
    ]);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
      .map((t) => `${t}_temp_path ${join(dir, 'tmp', t)};`)
      .join(' ');
    writeFileSync(
      out,
      edit(readFileSync(out, 'utf8'))
        .replace('pid /tmp/nginx.pid;', `pid ${join(dir, 'nginx.pid')};`)
        .replace('/var/log/nginx/access.log', join(dir, 'access.log'))
        .replace('include /etc/nginx/mime.types;', `include /etc/nginx/mime.types; ${temp}`),
    );
    return spawnSync('nginx', ['-t', '-p', dir, '-e', join(dir, 'error.log'), '-c', out], {
      encoding: 'utf8',
    });
  }

  it('renders a configuration real Nginx accepts', () => {
    const r = nginxTest('nginx');
    expect(r.stderr).toContain('syntax is ok');
    expect(r.status).toBe(0);
  });

  it('has a load-balancer real-IP stanza that Nginx accepts once uncommented', () => {
    let enabled = 0;
    const r = nginxTest('behind-lb', (conf) =>
      conf.replace(
        /^(\s*)# ((set_real_ip_from|real_ip_header|real_ip_recursive) .*)$/gm,
        (_m, indent, line) => {
          enabled++;
          return `${indent}${line}`;
        },
      ),
    );
    // Both trusted ranges, the header and the recursive lookup.
    expect(enabled).toBe(4);
    expect(r.stderr).toContain('syntax is ok');
    expect(r.status).toBe(0);
  });
});
