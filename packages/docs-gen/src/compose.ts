// docker-compose.yml as docker-compose itself resolves it (anchors merged, ${VAR} interpolated from an
// env file), so the checks read what an operator's `docker-compose up` would run, not our own parse.
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string>; target?: string };
  command?: string[] | string;
  environment?: Record<string, string | null>;
  ports?: Array<
    string | { published?: string | number; target?: number; host_ip?: string; protocol?: string }
  >;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string; disable?: boolean };
  secrets?: Array<string | { source: string }>;
  volumes?: Array<string | Record<string, unknown>>;
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { file?: string }>;
  volumes?: Record<string, unknown>;
}

export interface ComposeResult {
  ok: boolean;
  status: number | null;
  stderr: string;
  config?: ComposeConfig;
}

/** Runs `docker-compose --env-file <envFile> -f <composeFile> config`; `env` replaces the process environment. */
export function composeConfig(
  composeFile: string,
  envFile: string,
  env: NodeJS.ProcessEnv = minimalEnv(),
): ComposeResult {
  const res = spawnSync('docker-compose', ['--env-file', envFile, '-f', composeFile, 'config'], {
    cwd: dirname(composeFile),
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.error) {
    const missing = (res.error as NodeJS.ErrnoException).code === 'ENOENT';
    return {
      ok: false,
      status: null,
      stderr: missing
        ? 'docker-compose is not installed: run ./scripts/setup (Debian package docker-compose)'
        : res.error.message,
    };
  }
  if (res.status !== 0) return { ok: false, status: res.status, stderr: res.stderr };
  return { ok: true, status: 0, stderr: res.stderr, config: parse(res.stdout) as ComposeConfig };
}

/** Only what docker-compose needs, so variables exported in the caller's shell cannot leak into the result. */
export function minimalEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR'];
  const env: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) env[k] = process.env[k];
  return { ...env, ...extra };
}

/** The app a compose service runs: the Dockerfile's SERVICE build argument (node services only). */
export function appOf(service: ComposeService): string | undefined {
  return service.build?.args?.SERVICE;
}
