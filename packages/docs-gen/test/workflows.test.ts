// biome-ignore-all lint/suspicious/noTemplateCurlyInString: GitHub expressions (${{ }}) and compose's ${VAR} are what these tests read
// .github/workflows: actionlint (and shellcheck through it) finds nothing, and the repository's own rules
// hold: the test workflow runs the README's command, the image matrix has one entry per deployable app,
// images are cached, tagged, scanned and smoke-tested before a push that only main and tags may do.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../src/generate.js';
import {
  actionlint,
  expectedImages,
  matrixProblems,
  readWorkflow,
  unpinnedActions,
  type Workflow,
  workflowsDir,
} from '../src/workflows.js';

const root = repoRoot();
const dir = workflowsDir(root);
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f));
const images = readWorkflow(join(dir, 'images.yml'));
const test = readWorkflow(join(dir, 'test.yml'));
const steps = (wf: Workflow, job: string) => wf.jobs[job]?.steps ?? [];
const step = (wf: Workflow, job: string, uses: string) =>
  steps(wf, job).find((s) => s.uses?.startsWith(`${uses}@`));

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('.github/workflows', () => {
  it('actionlint finds nothing in any workflow', () => {
    expect(files.sort()).toEqual(['images.yml', 'test.yml']);
    const res = actionlint(
      files.map((f) => join(dir, f)),
      root,
    );
    expect(res.output).toBe('');
    expect(res.ok).toBe(true);
  });

  it('actionlint does report a broken copy (an unknown matrix key, an unquoted variable in a script)', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'workflows-test-'));
    tmpDirs.push(tmp);
    mkdirSync(join(tmp, '.github', 'workflows'), { recursive: true });
    const broken = join(tmp, '.github', 'workflows', 'images.yml');
    copyFileSync(join(dir, 'images.yml'), broken);
    writeFileSync(
      broken,
      readFileSync(broken, 'utf8')
        .replace(
          'image-ref: ${{ env.LOCAL_PREFIX }}/${{ matrix.image }}',
          'image-ref: ${{ env.LOCAL_PREFIX }}/${{ matrix.imgae }}',
        )
        .replace('docker load --input "$f"', 'docker load --input $f'),
    );
    const res = actionlint([broken], tmp);
    expect(res.ok).toBe(false);
    expect(res.output).toMatch(/imgae/);
    expect(res.output).toMatch(/SC2086/);
  });

  it('test.yml runs the README test command, on pushes to main, tags and pull requests', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/^\.\/scripts\/test\s/m);
    expect(steps(test, 'test').map((s) => s.run)).toContain('./scripts/test');
    expect(test.on).toMatchObject({ push: { branches: ['main'] }, pull_request: null });
  });

  it('the image matrix has one entry per deployable app: each service, and Nginx with the web client', () => {
    expect([...expectedImages(root).keys()].sort()).toEqual([
      'auth',
      'call',
      'gateway',
      'media',
      'signaling',
      'user',
      'web',
    ]);
    expect(matrixProblems(images, 'build', root)).toEqual([]);
    expect(images.jobs.publish?.strategy?.matrix?.include).toEqual(
      images.jobs.build?.strategy?.matrix?.include,
    );
    // Every image is one compose runs: the smoke test starts compose with these images only.
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    for (const { image } of images.jobs.build?.strategy?.matrix?.include ?? [])
      expect(compose, image).toContain(
        `image: \${VOIP_IMAGE_PREFIX:-voip}/${image}:\${VOIP_IMAGE_TAG:-latest}`,
      );
  });

  it('names an app that lost its matrix entry, and one built as the wrong thing', () => {
    const doctored = structuredClone(images);
    const include = doctored.jobs.build!.strategy!.matrix!.include!;
    doctored.jobs.build!.strategy!.matrix!.include = include
      .filter((e) => e.service !== 'call')
      .map((e) => (e.service === 'web' ? { ...e, target: 'service' } : e));
    expect(matrixProblems(doctored, 'build', root)).toEqual([
      'build: apps/call has no matrix entry (want {"image":"call","target":"service","service":"call"})',
      'build: apps/web is built as {"image":"nginx","target":"service","service":"web"}, want {"image":"nginx","target":"nginx","service":"web"}',
    ]);
  });

  it('builds with Buildx and the Actions layer cache, tags by commit and version, scans before anything else uses the image', () => {
    expect(step(images, 'build', 'docker/setup-buildx-action')).toBeDefined();
    const tags = String(step(images, 'build', 'docker/metadata-action')?.with?.tags);
    expect(tags).toMatch(/^type=sha,format=long/m);
    expect(tags).toMatch(/^type=semver,pattern=\{\{version\}\}/m);
    const build = step(images, 'build', 'docker/build-push-action')?.with ?? {};
    expect(build).toMatchObject({ file: 'infra/docker/Dockerfile', load: true, push: false });
    expect(build['cache-from']).toMatch(/^type=gha/);
    expect(build['cache-to']).toMatch(/^type=gha,mode=max/);
    const all = steps(images, 'build');
    const scan = all.findIndex((s) => s.uses?.startsWith('aquasecurity/trivy-action@'));
    expect(all[scan]?.with).toMatchObject({ severity: 'CRITICAL', 'exit-code': '1' });
    expect(scan).toBeLessThan(all.findIndex((s) => s.uses?.startsWith('actions/upload-artifact@')));
  });

  it('smoke-tests the compose stack of the images just built: init-secrets, a local certificate, every container healthy, one call through Nginx over HTTPS/WSS', () => {
    expect(images.jobs.smoke?.needs).toBe('build');
    const script = steps(images, 'smoke')
      .map((s) => s.run ?? '')
      .join('\n');
    expect(script).toContain('infra/docker/init-secrets.sh');
    expect(script).toMatch(/docker compose up [^\n]*--no-build[^\n]*--wait/);
    // Nginx and coturn need the certificate compose mounts by default before they can start.
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toContain('${TLS_CERT_FILE:-./.voip/tls/cert.pem}:/etc/nginx/tls/fullchain.pem:ro');
    expect(compose).toContain('"${VOIP_PORT:-443}:443"');
    expect(compose).toContain('"${VOIP_HTTP_PORT:-80}:80"');
    expect(existsSync(join(root, 'infra/docker/local-cert.sh'))).toBe(true);
    const cert = script.indexOf('infra/docker/local-cert.sh');
    expect(cert).toBeGreaterThanOrEqual(0);
    expect(cert).toBeLessThan(script.indexOf('docker compose up'));
    // The door over HTTPS on the published port, trusting only the local CA (never --insecure); plain
    // HTTP only redirects.
    expect(script).not.toMatch(/curl [^\n]*(--insecure|\s-k\b)/);
    expect(script).not.toMatch(/http:\/\/127\.0\.0\.1:8080/);
    expect(script).toContain('--cacert .voip/tls/ca.pem --output /dev/null https://localhost:443/\n');
    expect(script).toMatch(
      /test "\$\(curl [^\n]*--cacert \.voip\/tls\/ca\.pem [^\n]*https:\/\/localhost:443\/api\/auth\/me\)" = 401/,
    );
    expect(script).toMatch(
      /test "\$\(curl [^\n]*http:\/\/localhost:80\/api\/auth\/me\)" = '301 https:\/\/localhost\/api\/auth\/me'/,
    );
    expect(script).toContain(
      'node e2e/smoke/call-through-door.mjs https://localhost:443 --ca .voip/tls/ca.pem',
    );
    expect(existsSync(join(root, 'e2e/smoke/call-through-door.mjs'))).toBe(true);
  });

  it('pushes to ghcr.io only from main and version tags, only after the scan and the smoke test', () => {
    const publish = images.jobs.publish!;
    expect(publish.if).toBe(
      "github.event_name == 'push' && (github.ref == 'refs/heads/main' || startsWith(github.ref, 'refs/tags/v'))",
    );
    expect(publish.needs).toEqual(['build', 'smoke']);
    expect(publish.permissions).toMatchObject({ packages: 'write' });
    expect(step(images, 'publish', 'docker/build-push-action')?.with).toMatchObject({ push: true });
    expect(String(step(images, 'publish', 'docker/login-action')?.with?.registry)).toBe(
      '${{ env.REGISTRY }}',
    );
    expect(images).toMatchObject({ env: { REGISTRY: 'ghcr.io' }, permissions: { contents: 'read' } });
    // Nothing else logs in or pushes.
    for (const job of ['build', 'smoke']) {
      expect(step(images, job, 'docker/login-action'), job).toBeUndefined();
      expect(step(images, job, 'docker/build-push-action')?.with?.push ?? false, job).toBe(false);
    }
  });

  it('pins every action to a release version', () => {
    for (const f of files) expect(unpinnedActions(readWorkflow(join(dir, f))), f).toEqual([]);
    expect(
      unpinnedActions({ jobs: { j: { steps: [{ uses: 'actions/checkout@v4' }, { uses: 'a/b@main' }] } } }),
    ).toEqual(['j: actions/checkout@v4', 'j: a/b@main']);
  });
});
