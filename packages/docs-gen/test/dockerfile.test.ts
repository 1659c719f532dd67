// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile ${ARG} syntax is what these tests look for
// infra/docker/Dockerfile cannot be built here (no Docker engine), so what can be checked without one
// is: the stages and the steps the design rests on, pinned tool versions equal to the repository's,
// every COPY source present, the Nginx template's placeholders all filled, and the healthcheck's ports.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPS, loadAppSpecs } from '../src/check-env.js';
import { repoRoot } from '../src/generate.js';

const root = repoRoot();
const dockerfile = readFileSync(join(root, 'infra/docker/Dockerfile'), 'utf8');
// Continuation lines joined, comments dropped: one instruction per entry.
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stage = (name: string) => {
  const start = instructions.findIndex((l) => new RegExp(`^FROM \\S+ AS ${name}$`, 'i').test(l));
  expect(start, `stage ${name}`).toBeGreaterThanOrEqual(0);
  const end = instructions.findIndex((l, i) => i > start && l.startsWith('FROM '));
  return instructions.slice(start, end < 0 ? undefined : end);
};

describe('infra/docker/Dockerfile', () => {
  it('builds on Node 24 with the pnpm and turbo versions the repository pins', () => {
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:24-(bookworm-slim|alpine)$/m);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(dockerfile).toContain(`ARG PNPM_VERSION=${pkg.packageManager.replace(/^pnpm@/, '')}`);
    expect(dockerfile).toContain(`ARG TURBO_VERSION=${pkg.devDependencies.turbo}`);
  });

  it('prunes to one service, fetches into a cached store, installs offline and deploys production dependencies only', () => {
    expect(stage('prune').join('\n')).toContain('turbo prune "@voip/${SERVICE}" --docker');
    const build = stage('build').join('\n');
    expect(build).toMatch(/RUN --mount=type=cache,[^\n]*pnpm fetch/);
    expect(build).toMatch(/RUN --mount=type=cache,[^\n]*pnpm install --offline --frozen-lockfile/);
    // Manifests before sources, so the dependency layers survive source edits.
    expect(build.indexOf('COPY --from=prune /out/json/')).toBeLessThan(build.indexOf('pnpm fetch'));
    expect(build.indexOf('pnpm install')).toBeLessThan(build.indexOf('COPY --from=prune /out/full/'));
    expect(build).toMatch(/pnpm --filter "@voip\/\$\{SERVICE\}" --prod deploy/);
    // Legacy deploy re-resolves the workspace packages' ranges, which needs registry metadata that
    // `pnpm fetch` does not cache: with --offline it fails (ERR_PNPM_NO_OFFLINE_META, seen building the
    // images with buildah), --prefer-offline takes the tarballs from the store and fetches only metadata.
    expect(build).toMatch(/--prod deploy --legacy --prefer-offline /);
  });

  it('runs the service as a non-root user with a healthcheck and node dist/server.js', () => {
    const service = stage('service');
    expect(service).toContain('USER node');
    expect(service.some((l) => l.startsWith('HEALTHCHECK ') && l.includes('healthcheck.mjs'))).toBe(true);
    expect(service.at(-1)).toBe('CMD ["node", "dist/server.js"]');
    expect(service.join('\n')).toContain('COPY --from=build --chown=root:root /deploy/ ./');
    for (const app of APPS) {
      const pkg = JSON.parse(readFileSync(join(root, 'apps', app, 'package.json'), 'utf8'));
      expect(existsSync(join(root, 'apps', app, 'src', 'server.ts')), app).toBe(true);
      expect(pkg.scripts.build, app).toMatch(/tsc/);
    }
  });

  it('copies only files that exist in the repository', () => {
    for (const line of instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='))) {
      const parts = line.split(/\s+/).filter((p) => !p.startsWith('--'));
      for (const src of parts.slice(1, -1))
        if (src !== '.') expect(existsSync(join(root, src)), `${line}`).toBe(true);
    }
  });

  it('ships the rendered Nginx config of infra/nginx: HTTPS on 443 and HTTP on 80 where compose publishes them, the certificate mounted', () => {
    const nginx = stage('nginx');
    expect(nginx[0]).toMatch(/^FROM \$\{NGINX_IMAGE\} AS nginx$/);
    expect(dockerfile).toMatch(/^ARG NGINX_IMAGE=nginxinc\/nginx-unprivileged:/m);
    expect(nginx).toContain('COPY infra/nginx/nginx.conf /etc/nginx/nginx.conf');
    const conf = readFileSync(join(root, 'infra/nginx/nginx.conf'), 'utf8');
    expect(conf).not.toMatch(/@@[A-Z_]+@@/);
    // uid 101 cannot write /run: the pid file must live somewhere it can.
    expect(conf).toMatch(/^pid \/tmp\//m);
    // HTTPS/WSS on one port, plain HTTP (redirects only) on the other: both published by compose, both
    // exposed by the image, the healthcheck on the HTTPS one.
    const https = /^\s*listen (\d+) ssl\b/m.exec(conf)?.[1];
    const http = /^\s*listen (\d+);/m.exec(conf)?.[1];
    expect([https, http]).toEqual(['443', '80']);
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain(`"\${VOIP_PORT:-443}:${https}"`);
    expect(compose).toContain(`"\${VOIP_HTTP_PORT:-80}:${http}"`);
    expect(nginx).toContain(`EXPOSE ${https} ${http}`);
    const health = nginx.find((l) => l.startsWith('HEALTHCHECK '));
    expect(health).toContain(`"https://127.0.0.1:${https}/"`);
    // The certificate is mounted, not baked in: compose mounts files where the config reads them.
    const cert = /^\s*ssl_certificate\s+(\S+);/m.exec(conf)?.[1];
    const key = /^\s*ssl_certificate_key\s+(\S+);/m.exec(conf)?.[1];
    expect(compose).toContain(`- \${TLS_CERT_FILE:-./.voip/tls/cert.pem}:${cert}:ro`);
    expect(compose).toContain(`- \${TLS_KEY_FILE:-./.voip/tls/key.pem}:${key}:ro`);
    expect(instructions.some((l) => /^COPY\b.*\.pem\b/.test(l))).toBe(false);
    for (const upstream of [
      'server gateway:3000;',
      'server signaling-1:3004 max_fails=0;',
      'server signaling-2:3004 max_fails=0;',
    ])
      expect(conf).toContain(upstream);
  });

  it('keeps local state, secrets and build output out of the build context', () => {
    const ignore = readFileSync(join(root, 'infra/docker/Dockerfile.dockerignore'), 'utf8').split('\n');
    for (const p of ['**/node_modules', '**/dist', '.voip', '.env', 'secrets', '.git'])
      expect(ignore).toContain(p);
  });

  it('the image healthcheck knows each service default port', async () => {
    const script = readFileSync(join(root, 'infra/docker/healthcheck.mjs'), 'utf8');
    for (const { app, spec } of await loadAppSpecs(root)) {
      const port = spec.PORT!.parse(undefined, 'PORT');
      expect(script, app).toContain(`${app}: ${port}`);
    }
  });
});
