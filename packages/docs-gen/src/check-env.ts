// Every environment variable a service reads must reach it in docker-compose.yml and be documented in
// .env.example. The variables come from each app's built config spec (apps/<app>/dist/config.js,
// loaded by path: a package never imports an app), so the check follows the code, not a hand-kept list.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { appOf, type ComposeConfig, composeConfig } from './compose.js';

export const APPS = ['auth', 'user', 'call', 'media', 'signaling', 'gateway'] as const;
export type AppName = (typeof APPS)[number];

/**
 * Variables a service reads that compose deliberately does not set (the service's default applies).
 * Keep this short and say why: anything an operator may need to change belongs in compose.
 */
export const INTENTIONALLY_UNSET: Partial<Record<AppName, Record<string, string>>> = {
  call: {
    FCM_BASE_URL: 'test hook: tests point it at a local stand-in of the FCM endpoint',
    FCM_TOKEN_URL: 'test hook: tests point it at a local stand-in of the OAuth token endpoint',
  },
  media: {
    JANUS_PP_REC: 'the image installs janus-pp-rec on PATH (tests wrap it to slow it down)',
    FFMPEG: 'the image installs ffmpeg on PATH',
    FFPROBE: 'the image installs ffprobe on PATH',
  },
};

interface Field {
  parse(raw: string | undefined, name: string): unknown;
}
export interface AppSpec {
  app: AppName;
  spec: Record<string, Field>;
  /** Optional cross-field check the app exports next to its spec (call: checkConfig). */
  check?: (config: unknown) => unknown;
}

export async function loadAppSpecs(root: string): Promise<AppSpec[]> {
  const out: AppSpec[] = [];
  for (const app of APPS) {
    const file = join(root, 'apps', app, 'dist', 'config.js');
    let mod: { configSpec?: Record<string, Field>; checkConfig?: (c: unknown) => unknown };
    try {
      mod = await import(pathToFileURL(file).href);
    } catch (err) {
      throw new Error(
        `cannot load ${file} (build the apps first: turbo run build): ${(err as Error).message}`,
      );
    }
    if (!mod.configSpec) throw new Error(`${file} does not export configSpec`);
    out.push({
      app,
      spec: mod.configSpec,
      ...(typeof mod.checkConfig === 'function' ? { check: mod.checkConfig } : {}),
    });
  }
  return out;
}

function isRequired(field: Field, name: string): boolean {
  try {
    field.parse(undefined, name);
    return false;
  } catch {
    return true;
  }
}

/** Names .env.example documents: `NAME=value`, `# NAME=value` (optional, default) or `# NAME: note`. */
export function documentedNames(envExample: string): { all: Set<string>; assigned: Set<string> } {
  const all = new Set<string>();
  const assigned = new Set<string>();
  for (const line of envExample.split('\n')) {
    const m = /^(#\s*)?([A-Z][A-Z0-9_]*)([=:])/.exec(line);
    if (!m?.[2]) continue;
    all.add(m[2]);
    if (m[3] === '=') assigned.add(m[2]);
  }
  return { all, assigned };
}

/** `${NAME}`, `${NAME:-x}`, `${NAME:?msg}` references in the raw compose file (comments aside). */
export function interpolatedNames(composeText: string): Set<string> {
  const names = new Set<string>();
  const code = composeText
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  for (const m of code.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)) if (m[1]) names.add(m[1]);
  return names;
}

/** `process.env.NAME` / `process.env['NAME']` in an app's sources: config must come from the spec. */
export function directEnvReads(srcDir: string): Map<string, string> {
  const found = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        for (const m of readFileSync(p, 'utf8').matchAll(
          /process\.env(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g,
        )) {
          const name = m[1] ?? m[2];
          if (name && !found.has(name)) found.set(name, p);
        }
      }
    }
  };
  walk(srcDir);
  return found;
}

/**
 * .env.example as infra/docker/init-secrets.sh leaves it: every `NAME=change-me…` line gets a random
 * hex value (the services refuse the placeholders themselves).
 */
export function fillPlaceholders(envExample: string): string {
  return envExample.replace(
    /^([A-Z][A-Z0-9_]*)=change-me.*$/gm,
    (_l, name: string) => `${name}=${randomBytes(24).toString('hex')}`,
  );
}

export interface CheckEnvOptions {
  root: string;
  composeFile?: string;
  envExample?: string;
  specs?: AppSpec[];
}

export interface CheckEnvReport {
  problems: string[];
  /** app → compose services running it, with how many variables each gets. */
  coverage: Record<string, string[]>;
}

export async function checkEnv(opts: CheckEnvOptions): Promise<CheckEnvReport> {
  const composeFile = opts.composeFile ?? join(opts.root, 'docker-compose.yml');
  const envExample = opts.envExample ?? join(opts.root, '.env.example');
  const specs = opts.specs ?? (await loadAppSpecs(opts.root));
  const problems: string[] = [];
  const coverage: Record<string, string[]> = {};

  const resolved = composeConfig(composeFile, envExample);
  if (!resolved.ok || !resolved.config) {
    return {
      problems: [`docker-compose config failed with .env.example: ${resolved.stderr.trim()}`],
      coverage,
    };
  }
  const compose: ComposeConfig = resolved.config;
  // The same stack after init-secrets.sh: what a service must accept.
  const tmp = mkdtempSync(join(tmpdir(), 'check-env-'));
  const filledFile = join(tmp, '.env');
  writeFileSync(filledFile, fillPlaceholders(readFileSync(envExample, 'utf8')));
  const filledResolved = composeConfig(composeFile, filledFile);
  rmSync(tmp, { recursive: true, force: true });
  if (!filledResolved.ok || !filledResolved.config)
    return {
      problems: [
        `docker-compose config failed with .env.example's secrets filled: ${filledResolved.stderr.trim()}`,
      ],
      coverage,
    };
  const filledCompose: ComposeConfig = filledResolved.config;
  const documented = documentedNames(readFileSync(envExample, 'utf8'));
  const composeText = readFileSync(composeFile, 'utf8');
  const referenced = interpolatedNames(composeText);
  const readByAnyService = new Set<string>();

  for (const { app, spec, check } of specs) {
    const names = Object.keys(spec);
    for (const n of names) readByAnyService.add(n);
    const unset = INTENTIONALLY_UNSET[app] ?? {};
    const services = Object.entries(compose.services).filter(([, s]) => appOf(s) === app);
    if (services.length === 0)
      problems.push(`${app}: no service in docker-compose.yml builds it (build.args.SERVICE=${app})`);
    coverage[app] = services.map(
      ([name, s]) => `${name} (${Object.keys(s.environment ?? {}).length} variables)`,
    );

    for (const [serviceName, service] of services) {
      const env = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, v ?? '']));
      const filledEnv = Object.fromEntries(
        Object.entries(filledCompose.services[serviceName]?.environment ?? {}).map(([k, v]) => [k, v ?? '']),
      );
      for (const n of names) {
        if (n in unset) {
          if (n in env)
            problems.push(`${serviceName}: ${n} is listed as intentionally unset but compose sets it`);
          continue;
        }
        if (!(n in env))
          problems.push(`${serviceName}: ${n} is read by ${app} but not set in docker-compose.yml`);
        else if (env[n] === '' && isRequired(spec[n] as Field, n))
          problems.push(`${serviceName}: ${n} is required by ${app} but empty with .env.example`);
      }
      for (const n of Object.keys(env))
        if (!names.includes(n))
          problems.push(`${serviceName}: ${n} is set in docker-compose.yml but ${app} does not read it`);
      // A variable carrying one of .env.example's placeholder secrets must stop the service, naming it.
      for (const n of names) {
        if (env[n] === filledEnv[n] || n in unset) continue;
        let refused = '';
        try {
          (spec[n] as Field).parse(env[n], n);
        } catch (err) {
          refused = (err as Error).message;
        }
        if (!refused.includes(`${n} `) || !refused.includes('placeholder'))
          problems.push(
            `${serviceName}: ${app} would start with the placeholder secret .env.example puts in ${n}`,
          );
      }
      // The resolved environment, once init-secrets.sh has filled the secrets, must be one the service
      // accepts at start-up.
      try {
        const config: Record<string, unknown> = {};
        for (const [n, f] of Object.entries(spec)) config[n] = f.parse(filledEnv[n], n);
        check?.(Object.freeze(config));
      } catch (err) {
        problems.push(
          `${serviceName}: ${app} would refuse to start with .env.example: ${(err as Error).message}`,
        );
      }
    }

    for (const n of names)
      if (!documented.all.has(n)) problems.push(`${app}: ${n} is not documented in .env.example`);
    for (const [n, file] of directEnvReads(join(opts.root, 'apps', app, 'src')))
      if (!names.includes(n))
        problems.push(`${app}: reads process.env.${n} directly (${file}); put it in src/config.ts`);
  }

  for (const n of referenced)
    if (!documented.all.has(n))
      problems.push(`docker-compose.yml: \${${n}} is not documented in .env.example`);
  for (const n of documented.assigned)
    if (!readByAnyService.has(n) && !referenced.has(n))
      problems.push(`.env.example: ${n} is neither read by a service nor used in docker-compose.yml`);

  return { problems: [...new Set(problems)], coverage };
}
