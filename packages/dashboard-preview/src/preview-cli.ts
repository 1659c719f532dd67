// Makes docs/dashboard.png from real metrics: against a stack started with `./scripts/dev --detach`,
// it runs a real Prometheus (Debian's) scraping every service, drives traffic through Nginx, drains one
// signaling instance part-way, then evaluates every panel's PromQL from infra/grafana/dashboards/voip.json
// against that Prometheus, draws the panels (render.ts) and screenshots the page with headless Chromium.
//   node packages/docs-gen/dist/preview/preview-cli.js [--minutes 4] [--no-drain] [--out docs/dashboard.png]
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { QUIET_CHROMIUM_FLAGS } from '@voip/testkit/chromium';
import { type Dashboard, type PanelData, renderDashboard, type Series } from './render.js';
import { runTraffic } from './traffic.js';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '4' },
    out: { type: 'string', default: 'docs/dashboard.png' },
    'no-drain': { type: 'boolean', default: false },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});
const root = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const stateDir = resolve(process.env.VOIP_STATE ?? join(root, '.voip'));
const log = (line: string) => process.stdout.write(`preview: ${line}\n`);
const SCRAPE_SECONDS = 5;
const RATE_INTERVAL = '30s';

interface StackFile {
  url: string;
  processes: { name: string; index: number; pid?: number; port: number }[];
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

async function waitFor(url: string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} not ready after ${ms} ms`);
}

async function queryRange(prom: string, expr: string, start: number, end: number): Promise<Series[]> {
  const q = new URLSearchParams({
    query: expr.replaceAll('$__rate_interval', RATE_INTERVAL),
    start: String(start),
    end: String(end),
    step: String(SCRAPE_SECONDS),
  });
  const res = await fetch(`${prom}/api/v1/query_range?${q}`);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { result: { metric: Record<string, string>; values: [number, string][] }[] };
  };
  if (body.status !== 'success') throw new Error(`query failed (${expr}): ${body.error}`);
  return (body.data?.result ?? []).map((r) => ({
    labels: r.metric,
    points: r.values
      .map(([t, v]) => [t, Number(v)] as [number, number])
      .filter(([, v]) => Number.isFinite(v)),
  }));
}

async function main(): Promise<void> {
  const stack = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as StackFile;
  const services = stack.processes.filter((p) =>
    ['gateway', 'auth', 'user', 'call', 'signaling'].includes(p.name),
  );
  if (services.length === 0)
    throw new Error(`no services in ${stateDir}/stack.json: start the stack with ./scripts/dev --detach`);
  const work = mkdtempSync(join(tmpdir(), 'voip-preview-'));
  let prometheus: ChildProcess | undefined;
  try {
    // 1. A real Prometheus scraping the running services, jobs named as in infra/prometheus/prometheus.yml.
    const jobs = new Map<string, string[]>();
    for (const p of services) jobs.set(p.name, [...(jobs.get(p.name) ?? []), `127.0.0.1:${p.port}`]);
    const config = [
      'global:',
      `  scrape_interval: ${SCRAPE_SECONDS}s`,
      `  evaluation_interval: ${SCRAPE_SECONDS}s`,
      'scrape_configs:',
      ...[...jobs].flatMap(([job, targets]) => [
        `  - job_name: ${job}`,
        '    static_configs:',
        `      - targets: [${targets.map((t) => `"${t}"`).join(', ')}]`,
      ]),
      '',
    ].join('\n');
    writeFileSync(join(work, 'prometheus.yml'), config);
    const promPort = await freePort();
    const prom = `http://127.0.0.1:${promPort}`;
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(work, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(work, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await waitFor(`${prom}/-/ready`, 30_000);
    log(`prometheus ${prom} scraping ${services.length} service processes every ${SCRAPE_SECONDS}s`);

    // 2. Traffic through Nginx; one signaling instance drained (SIGTERM) part-way.
    const start = Math.floor(Date.now() / 1000) - 10;
    const drainTarget = stack.processes.find((p) => p.name === 'signaling' && p.index === 1);
    const milestones =
      !values['no-drain'] && drainTarget?.pid
        ? [
            {
              at: 0.65,
              run: () => {
                log(`draining signaling instance 2 (SIGTERM to pid ${drainTarget.pid})`);
                process.kill(drainTarget.pid!, 'SIGTERM');
              },
            },
          ]
        : [];
    const minutes = Number(values.minutes);
    log(`traffic for ${minutes} min through ${stack.url}`);
    const traffic = await runTraffic({ url: stack.url, durationMs: minutes * 60_000, milestones, log });
    await new Promise((r) => setTimeout(r, (SCRAPE_SECONDS * 2 + 1) * 1000));
    const end = Math.floor(Date.now() / 1000);

    // 3. Every panel's queries, as Grafana would send them.
    const dashboard = JSON.parse(
      readFileSync(join(root, 'infra/grafana/dashboards/voip.json'), 'utf8'),
    ) as Dashboard;
    const data: PanelData = new Map();
    for (const p of dashboard.panels)
      data.set(p.id, await Promise.all((p.targets ?? []).map((t) => queryRange(prom, t.expr, start, end))));
    traffic.stop();
    const empty = dashboard.panels
      .filter((p) => (data.get(p.id) ?? []).every((s) => s.length === 0))
      .map((p) => p.title);
    if (empty.length) log(`panels without data: ${empty.join(', ')}`);

    // 4. Draw and screenshot.
    const caption = `Preview rendered from live metrics: ./scripts/dev stack, ${minutes} min of generated traffic, a real Prometheus ${SCRAPE_SECONDS}s scrape, each panel's PromQL evaluated (rate window ${RATE_INTERVAL}) and drawn by packages/docs-gen (not Grafana). ${new Date(start * 1000).toISOString().slice(0, 16)}–${new Date(end * 1000).toISOString().slice(11, 16)} UTC`;
    const { html, height } = renderDashboard(dashboard, data, { range: [start, end], caption });
    const page = join(work, 'dashboard.html');
    writeFileSync(page, html);
    const out = resolve(root, values.out);
    const shot = spawnSync(
      values.chromium,
      [
        '--headless',
        ...QUIET_CHROMIUM_FLAGS,
        '--hide-scrollbars',
        `--user-data-dir=${join(work, 'chromium')}`,
        `--screenshot=${out}`,
        `--window-size=1600,${height}`,
        `file://${page}`,
      ],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (shot.status !== 0) throw new Error(`chromium failed (${shot.status}): ${shot.stderr}`);
    log(`wrote ${values.out} (1600×${height})`);
  } finally {
    prometheus?.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

main()
  .then(() => process.exit(0))
  .catch((err: unknown) => {
    process.stderr.write(`preview: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
