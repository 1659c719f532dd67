// docker-compose.yml as docker-compose resolves it: valid, complete (databases, coturn, every service,
// two signaling replicas, Nginx, Prometheus, Grafana), healthchecks everywhere, ordered start-up, and
// secrets that must come from .env.
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { appOf, type ComposeService, composeConfig, minimalEnv } from '../src/compose.js';
import { repoRoot } from '../src/generate.js';

const root = repoRoot();
const composeFile = join(root, 'docker-compose.yml');
const envExample = join(root, '.env.example');
const result = composeConfig(composeFile, envExample);
const services = result.config?.services ?? {};
const NODE_SERVICES = ['auth', 'user', 'call', 'media', 'gateway', 'signaling-1', 'signaling-2'];

const tmpDirs: string[] = [];
afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'compose-test-'));
  tmpDirs.push(d);
  return d;
};

const publishedPorts = (s: ComposeService) =>
  (s.ports ?? []).map((p) =>
    typeof p === 'string' ? p : `${p.host_ip ? `${p.host_ip}:` : ''}${p.published}:${p.target}`,
  );

describe('docker-compose.yml', () => {
  it('validates with `docker-compose config` and .env.example', () => {
    expect(result.stderr).not.toMatch(/error/i);
    expect(result.ok).toBe(true);
  });

  it('runs MongoDB 7 as a replica set of one, initiated idempotently by its healthcheck', () => {
    const mongo = services.mongo!;
    expect(mongo.image).toMatch(/^mongo:7(\.|$)/);
    expect(mongo.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    const test = JSON.stringify(mongo.healthcheck?.test);
    expect(test).toContain('rs.initiate');
    expect(test).toMatch(/try \{ rs\.status\(\) \} catch/);
    expect(test).toContain('isWritablePrimary');
    for (const name of ['auth', 'user', 'call'])
      expect(services[name]?.environment?.MONGODB_URI).toMatch(
        /^mongodb:\/\/mongo:27017\/\w+\?replicaSet=rs0$/,
      );
  });

  it('has Redis 7 (password-protected, persistent), coturn, Nginx, Prometheus and Grafana', () => {
    expect(services.redis?.image).toMatch(/^redis:7/);
    expect(services.redis?.command).toEqual(expect.arrayContaining(['--appendonly', 'yes', '--requirepass']));
    expect(services.coturn?.image).toMatch(/^coturn\/coturn:/);
    expect(services.nginx?.build?.target).toBe('nginx');
    expect(services.prometheus?.image).toMatch(/^prom\/prometheus:/);
    expect(services.grafana?.image).toMatch(/^grafana\/grafana:/);
  });

  it('builds every service from the one Dockerfile, with two signaling replicas', () => {
    const apps = Object.fromEntries(NODE_SERVICES.map((n) => [n, appOf(services[n]!)]));
    expect(apps).toEqual({
      auth: 'auth',
      user: 'user',
      call: 'call',
      media: 'media',
      gateway: 'gateway',
      'signaling-1': 'signaling',
      'signaling-2': 'signaling',
    });
    for (const n of NODE_SERVICES) {
      expect(services[n]?.build?.dockerfile).toBe('infra/docker/Dockerfile');
      expect(existsSync(join(root, 'apps', appOf(services[n]!)!, 'package.json'))).toBe(true);
    }
    expect(services['signaling-1']?.environment?.INSTANCE_ID).toBe('signaling-1');
    expect(services['signaling-2']?.environment?.INSTANCE_ID).toBe('signaling-2');
  });

  it('gives every container a healthcheck and starts dependents only once their dependencies are healthy', () => {
    for (const [name, s] of Object.entries(services)) {
      expect(s.healthcheck?.test, `${name} has no healthcheck`).toBeDefined();
      expect(s.healthcheck?.disable, name).not.toBe(true);
      const deps = s.depends_on ?? {};
      expect(Array.isArray(deps), `${name}: depends_on needs conditions`).toBe(false);
      for (const [dep, cond] of Object.entries(deps)) {
        expect(services[dep], `${name} depends on unknown ${dep}`).toBeDefined();
        expect(cond.condition, `${name} → ${dep}`).toBe('service_healthy');
      }
    }
    for (const n of NODE_SERVICES) expect(JSON.stringify(services[n]?.healthcheck?.test)).toContain('/ready');
    expect(Object.keys(services.nginx?.depends_on ?? {}).sort()).toEqual([
      'gateway',
      'signaling-1',
      'signaling-2',
    ]);
  });

  it('publishes only Nginx (VOIP_PORT HTTPS, VOIP_HTTP_PORT) and coturn to the world; Prometheus and Grafana on 127.0.0.1', () => {
    for (const n of [...NODE_SERVICES, 'mongo', 'redis']) expect(publishedPorts(services[n]!), n).toEqual([]);
    expect(publishedPorts(services.nginx!)).toEqual(['443:443', '80:80']);
    // Janus: its media UDP range only; its HTTP API and admin API stay on the compose network.
    expect(JSON.stringify(services.janus?.ports)).not.toMatch(/8088|7088/);
    const janusPorts = JSON.stringify(services.janus?.ports);
    expect(janusPorts).toMatch(/"udp"/);
    expect(janusPorts).not.toMatch(/"tcp"/);
    for (const n of ['prometheus', 'grafana'])
      for (const p of publishedPorts(services[n]!)) expect(p).toMatch(/^127\.0\.0\.1:/);
    const moved = composeConfig(
      composeFile,
      envExample,
      minimalEnv({ VOIP_PORT: '18443', VOIP_HTTP_PORT: '18080' }),
    );
    expect(publishedPorts(moved.config!.services.nginx!)).toEqual(['18443:443', '18080:80']);
  });

  it('mounts the JWT keys as read-only secrets: the private key for auth only', () => {
    const secretNames = (s: ComposeService) =>
      (s.secrets ?? []).map((x) => (typeof x === 'string' ? x : x.source)).sort();
    expect(secretNames(services.auth!)).toEqual(['jwt_private_key', 'jwt_public_key']);
    for (const n of NODE_SERVICES.filter((x) => x !== 'auth'))
      expect(secretNames(services[n]!), n).toEqual(['jwt_public_key']);
    for (const n of NODE_SERVICES)
      expect(services[n]?.environment?.JWT_PUBLIC_KEY_FILE).toBe('/run/secrets/jwt_public_key');
    expect(services.auth?.environment?.JWT_PRIVATE_KEY_FILE).toBe('/run/secrets/jwt_private_key');
  });

  it('refuses to resolve without the secrets .env must provide, naming the missing one', () => {
    const dir = tmp();
    const env = readFileSync(envExample, 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('REDIS_PASSWORD='))
      .join('\n');
    writeFileSync(join(dir, 'partial.env'), env);
    const res = composeConfig(composeFile, join(dir, 'partial.env'));
    expect(res.ok).toBe(false);
    expect(res.stderr).toContain('set REDIS_PASSWORD in .env');
  });

  it('infra/docker/init-secrets.sh writes a key pair and an .env with random secrets that compose accepts', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'infra', 'docker'), { recursive: true });
    copyFileSync(join(root, 'infra/docker/init-secrets.sh'), join(dir, 'infra/docker/init-secrets.sh'));
    copyFileSync(envExample, join(dir, '.env.example'));
    copyFileSync(composeFile, join(dir, 'docker-compose.yml'));
    const run = () =>
      spawnSync('sh', [join(dir, 'infra/docker/init-secrets.sh')], { encoding: 'utf8', env: minimalEnv() });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    const env = readFileSync(join(dir, '.env'), 'utf8');
    expect(env).not.toMatch(/^[A-Z_]+=change-me/m);
    expect(env).toMatch(/^INTERNAL_TOKEN=[0-9a-f]{48}$/m);
    expect(readFileSync(join(dir, 'secrets/jwt-private.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(readFileSync(join(dir, 'secrets/jwt-public.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
    // Idempotent: a second run keeps the keys and the .env.
    const key = readFileSync(join(dir, 'secrets/jwt-public.pem'), 'utf8');
    expect(run().status).toBe(0);
    expect(readFileSync(join(dir, 'secrets/jwt-public.pem'), 'utf8')).toBe(key);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(env);
    const res = composeConfig(join(dir, 'docker-compose.yml'), join(dir, '.env'));
    expect(res.ok, res.stderr).toBe(true);
    expect(res.config?.services.auth?.environment?.INTERNAL_TOKEN).toMatch(/^[0-9a-f]{48}$/);
  });

  it('following the compose header as written (cp .env.example .env, edit, init-secrets.sh) leaves no placeholder secret', () => {
    const dir = tmp();
    mkdirSync(join(dir, 'infra', 'docker'), { recursive: true });
    copyFileSync(join(root, 'infra/docker/init-secrets.sh'), join(dir, 'infra/docker/init-secrets.sh'));
    copyFileSync(envExample, join(dir, '.env.example'));
    copyFileSync(composeFile, join(dir, 'docker-compose.yml'));
    // The operator's edits: one secret of their own, a port.
    const own = 'operators-own-internal-token-0123456789';
    writeFileSync(
      join(dir, '.env'),
      readFileSync(envExample, 'utf8')
        .replace(/^INTERNAL_TOKEN=.*$/m, `INTERNAL_TOKEN=${own}`)
        .replace(/^# VOIP_PORT=443$/m, 'VOIP_PORT=18443'),
      { mode: 0o640 },
    );
    const run = () =>
      spawnSync('sh', [join(dir, 'infra/docker/init-secrets.sh')], { encoding: 'utf8', env: minimalEnv() });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(
      'init-secrets: random values for the placeholder secrets in .env: REDIS_PASSWORD TURN_SECRET JANUS_API_SECRET JANUS_ADMIN_SECRET RECORDING_LINK_SECRET GRAFANA_ADMIN_PASSWORD',
    );
    const env = readFileSync(join(dir, '.env'), 'utf8');
    expect(env).not.toMatch(/^[A-Z_]+=.*change-me/m);
    expect(env).toMatch(new RegExp(`^INTERNAL_TOKEN=${own}$`, 'm'));
    expect(env).toMatch(/^VOIP_PORT=18443$/m);
    const generated = [
      'REDIS_PASSWORD',
      'TURN_SECRET',
      'JANUS_API_SECRET',
      'JANUS_ADMIN_SECRET',
      'RECORDING_LINK_SECRET',
      'GRAFANA_ADMIN_PASSWORD',
    ];
    for (const name of generated) expect(env).toMatch(new RegExp(`^${name}=[0-9a-f]{48}$`, 'm'));
    // Every other line as the operator left it, and the file's mode kept.
    const lines = (text: string) =>
      text.split('\n').filter((l) => !generated.some((name) => l.startsWith(`${name}=`)));
    expect(lines(env)).toEqual(
      lines(
        readFileSync(envExample, 'utf8')
          .replace(/^INTERNAL_TOKEN=.*$/m, `INTERNAL_TOKEN=${own}`)
          .replace(/^# VOIP_PORT=443$/m, 'VOIP_PORT=18443'),
      ),
    );
    expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o640);
    // Nothing left to do the second time.
    const second = run();
    expect(second.status).toBe(0);
    expect(second.stdout).not.toContain('random values');
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(env);
    const res = composeConfig(join(dir, 'docker-compose.yml'), join(dir, '.env'));
    expect(res.ok, res.stderr).toBe(true);
    expect(res.config?.services.call?.environment?.TURN_SECRET).toMatch(/^[0-9a-f]{48}$/);
  });
});
