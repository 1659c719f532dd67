// The CI definitions in .github/workflows, checked the way the compose file is: by the tool made for
// them (actionlint, built by scripts/setup) and by rules of this repository that no linter knows: every
// deployable app has its image in the build matrix, actions are pinned to a version, and only main and
// version tags publish.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface MatrixEntry {
  image: string;
  target: string;
  service: string;
}
interface Step {
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
}
interface Job {
  if?: string;
  needs?: string | string[];
  permissions?: Record<string, string>;
  strategy?: { matrix?: { include?: MatrixEntry[] } };
  steps?: Step[];
}
export interface Workflow {
  name?: string;
  on?: unknown;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

export const workflowsDir = (root: string) => join(root, '.github', 'workflows');

export function readWorkflow(file: string): Workflow {
  return parse(readFileSync(file, 'utf8')) as Workflow;
}

export interface LintResult {
  ok: boolean;
  output: string;
}

/** actionlint (with shellcheck on every `run:`) over the given workflow files; ok = no finding. */
export function actionlint(files: string[], cwd: string): LintResult {
  const res = spawnSync('actionlint', ['-no-color', '-oneline', ...files], {
    cwd,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (res.error) {
    const missing = (res.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing ? 'actionlint is not installed: run ./scripts/setup (it builds it with Go)' : res.error.message,
    );
  }
  return { ok: res.status === 0, output: `${res.stdout}${res.stderr}`.trim() };
}

/**
 * What image each app in apps/ ships in: an app with src/server.ts is a service (its own image, target
 * `service`, SERVICE=<app>, or the Dockerfile stage named after it when it has one, e.g. media with its
 * post-processing tools); apps/web is the demo client, the static site of the Nginx image.
 */
export function expectedImages(root: string): Map<string, MatrixEntry> {
  const out = new Map<string, MatrixEntry>();
  const stages = dockerfileStages(root);
  for (const app of readdirSync(join(root, 'apps')).sort()) {
    if (!existsSync(join(root, 'apps', app, 'package.json'))) continue;
    if (existsSync(join(root, 'apps', app, 'src', 'server.ts')))
      out.set(app, { image: app, target: stages.has(app) ? app : 'service', service: app });
    else if (app === 'web') out.set(app, { image: 'nginx', target: 'nginx', service: 'web' });
    else out.set(app, { image: '?', target: '?', service: app });
  }
  return out;
}

/** The stage names of infra/docker/Dockerfile (`FROM … AS name`). */
function dockerfileStages(root: string): Set<string> {
  const file = join(root, 'infra', 'docker', 'Dockerfile');
  if (!existsSync(file)) return new Set();
  return new Set(
    [...readFileSync(file, 'utf8').matchAll(/^FROM\s+\S+\s+AS\s+(\S+)/gim)].map((m) => m[1] ?? ''),
  );
}

/**
 * Every way the image matrix of `job` disagrees with apps/, one line each. An entry for a server of
 * infra/ (Janus: infra/janus, its own Dockerfile stage) is no app's and is fine.
 */
export function matrixProblems(workflow: Workflow, job: string, root: string): string[] {
  const problems: string[] = [];
  const include = workflow.jobs[job]?.strategy?.matrix?.include ?? [];
  for (const [app, want] of expectedImages(root)) {
    if (want.image === '?') {
      problems.push(
        `apps/${app}: neither a service (src/server.ts) nor the web client; say which image ships it`,
      );
      continue;
    }
    const entry = include.find((e) => e.service === app);
    if (!entry) problems.push(`${job}: apps/${app} has no matrix entry (want ${JSON.stringify(want)})`);
    else if (entry.image !== want.image || entry.target !== want.target)
      problems.push(`${job}: apps/${app} is built as ${JSON.stringify(entry)}, want ${JSON.stringify(want)}`);
  }
  const known = new Set([...expectedImages(root).keys()]);
  for (const e of include)
    if (!known.has(e.service) && !(existsSync(join(root, 'infra', e.service)) && e.target === e.image))
      problems.push(`${job}: matrix entry ${e.image} builds ${e.service}, which is not in apps/`);
  const images = include.map((e) => e.image);
  for (const dup of new Set(images.filter((x, i) => images.indexOf(x) !== i)))
    problems.push(`${job}: image ${dup} appears twice in the matrix`);
  return problems;
}

/** `uses:` references not pinned to a release (vX.Y.Z / X.Y.Z) or a full commit SHA. */
export function unpinnedActions(workflow: Workflow): string[] {
  const out: string[] = [];
  for (const [name, job] of Object.entries(workflow.jobs))
    for (const step of job.steps ?? []) {
      if (!step.uses || step.uses.startsWith('./') || step.uses.startsWith('docker://')) continue;
      const ref = step.uses.split('@')[1] ?? '';
      if (!/^v?\d+\.\d+\.\d+$/.test(ref) && !/^[0-9a-f]{40}$/.test(ref)) out.push(`${name}: ${step.uses}`);
    }
  return out;
}
