// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose interpolation syntax (${VAR}) is what these tests are about
// scripts/check-env's logic: on the repository it finds nothing to complain about; on doctored copies
// of the compose file, .env.example or a spec it names each disagreement.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppSpec,
  checkEnv,
  documentedNames,
  fillPlaceholders,
  interpolatedNames,
  loadAppSpecs,
} from '../src/check-env.js';
import { repoRoot } from '../src/generate.js';

const root = repoRoot();
let specs: AppSpec[];
let dir: string;
beforeAll(async () => {
  specs = await loadAppSpecs(root);
  dir = mkdtempSync(join(tmpdir(), 'check-env-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of docker-compose.yml and .env.example, edited, in a temp dir (relative paths keep working). */
function doctored(edit: { compose?: (s: string) => string; env?: (s: string) => string }) {
  const sub = mkdtempSync(join(dir, 'case-'));
  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  const env = readFileSync(join(root, '.env.example'), 'utf8');
  writeFileSync(join(sub, 'docker-compose.yml'), edit.compose ? edit.compose(compose) : compose);
  writeFileSync(join(sub, '.env.example'), edit.env ? edit.env(env) : env);
  return { root, composeFile: join(sub, 'docker-compose.yml'), envExample: join(sub, '.env.example'), specs };
}

describe('check-env', () => {
  it('finds every variable of every service set in docker-compose.yml and documented in .env.example', async () => {
    const { problems, coverage } = await checkEnv({ root, specs });
    expect(problems).toEqual([]);
    expect(Object.keys(coverage).sort()).toEqual(['auth', 'call', 'gateway', 'media', 'signaling', 'user']);
    expect(coverage.signaling).toHaveLength(2);
  });

  it('names a variable a service reads that compose does not set and .env.example does not document', async () => {
    const gateway = specs.find((s) => s.app === 'gateway')!;
    const extended: AppSpec = {
      ...gateway,
      spec: { ...gateway.spec, BRAND_NEW_LIMIT: gateway.spec.RATE_LIMIT_WINDOW_MS! },
    };
    const { problems } = await checkEnv({ root, specs: [extended] });
    expect(problems).toEqual([
      'gateway: BRAND_NEW_LIMIT is read by gateway but not set in docker-compose.yml',
      'gateway: BRAND_NEW_LIMIT is not documented in .env.example',
    ]);
  });

  it("names a service that would start with one of .env.example's placeholder secrets", async () => {
    const gateway = specs.find((s) => s.app === 'gateway')!;
    const lax: AppSpec = {
      ...gateway,
      spec: { ...gateway.spec, INTERNAL_TOKEN: { parse: (raw: string | undefined) => raw } },
    };
    const { problems } = await checkEnv({ root, specs: [lax] });
    expect(problems).toEqual([
      'gateway: gateway would start with the placeholder secret .env.example puts in INTERNAL_TOKEN',
    ]);
  });

  it('fills every change-me value of .env.example the way init-secrets.sh does', () => {
    const filled = fillPlaceholders(readFileSync(join(root, '.env.example'), 'utf8'));
    expect(filled).not.toMatch(/^[A-Z_]+=change-me/m);
    expect(filled).toMatch(/^INTERNAL_TOKEN=[0-9a-f]{48}$/m);
    expect(filled).toMatch(/^# VOIP_PORT=443$/m);
  });

  it('names a variable dropped from one signaling replica and one compose sets that nobody reads', async () => {
    const { problems } = await checkEnv(
      doctored({
        compose: (s) =>
          s
            .replace('      INSTANCE_ID: signaling-2\n', '')
            .replace(
              '      INSTANCE_ID: auth-1\n',
              '      INSTANCE_ID: auth-1\n      LEFTOVER_SETTING: "1"\n',
            ),
      }),
    );
    expect(problems).toContain(
      'signaling-2: INSTANCE_ID is read by signaling but not set in docker-compose.yml',
    );
    expect(problems).toContain(
      'auth: LEFTOVER_SETTING is set in docker-compose.yml but auth does not read it',
    );
  });

  it('names a .env.example value the services would refuse, and a compose variable it does not document', async () => {
    const { problems } = await checkEnv(
      doctored({
        env: (s) =>
          s.replace(/^INTERNAL_TOKEN=.*$/m, 'INTERNAL_TOKEN=short').replace(/^# TURN_MIN_PORT=.*\n/m, ''),
      }),
    );
    expect(problems).toContain(
      'auth: auth would refuse to start with .env.example: config: INTERNAL_TOKEN must be at least 24 characters',
    );
    expect(problems).toContain('docker-compose.yml: ${TURN_MIN_PORT} is not documented in .env.example');
  });

  it('reports a compose file docker-compose cannot resolve', async () => {
    const { problems } = await checkEnv(
      doctored({ compose: (s) => s.replace('services:\n', 'services:\n  broken: [\n') }),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^docker-compose config failed/);
  });
});

describe('check-env parsing', () => {
  it('reads documented names from assignments, commented defaults and notes', () => {
    const { all, assigned } = documentedNames(
      '# intro: text\nA_B=1\n# C_D=2\n# E_F: set by compose\n#Generate: no\n',
    );
    expect([...all].sort()).toEqual(['A_B', 'C_D', 'E_F']);
    expect([...assigned].sort()).toEqual(['A_B', 'C_D']);
  });

  it('reads ${VAR} references but not from comments or $$ escapes', () => {
    expect([...interpolatedNames('# ${NOT_THIS}\na: ${X:-1} ${Y:?m} $${Z}\n')].sort()).toEqual(['X', 'Y']);
  });
});
