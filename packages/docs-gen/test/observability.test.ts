// Prometheus config and alert rules checked by promtool (syntax and unit tests of every alert), scrape
// targets matching the compose services, and the Grafana dashboard wired to the provisioned datasource
// and querying only metrics the code exports.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { appOf, composeConfig } from '../src/compose.js';
import { metricNames } from '../src/promql.js';
import { repoRoot } from '../src/generate.js';

const root = repoRoot();
const promDir = join(root, 'infra/prometheus');
const grafanaDir = join(root, 'infra/grafana');

function promtool(...args: string[]) {
  const res = spawnSync('promtool', args, { cwd: promDir, encoding: 'utf8', timeout: 60_000 });
  if ((res.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')
    throw new Error('promtool is not installed: run ./scripts/setup (Debian package prometheus)');
  return { status: res.status, output: `${res.stdout}${res.stderr}` };
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: { expr: string; datasource?: { uid: string } }[];
}
const dashboard = JSON.parse(readFileSync(join(grafanaDir, 'dashboards/voip.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
};

/**
 * Metric names the code registers (`name: '...'` next to prom-client, or the name given to kit's `counter(` /
 * `histogram(`), prom-client's defaults, Prometheus' own.
 */
function exportedMetrics(): Set<string> {
  const names = new Set<string>(['up']);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  for (const m of registry.getMetricsAsArray()) names.add(m.name);
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      if (entry === 'node_modules' || entry === 'dist' || entry === 'test') continue;
      const p = join(dir, entry);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) {
        const text = readFileSync(p, 'utf8');
        if (!text.includes('prom-client') && !text.includes('@voip/kit/metrics')) continue;
        for (const m of text.matchAll(/(?:name:\s*|\b(?:counter|histogram)\(\s*[\w.]+,\s*)'([a-z_:][a-z0-9_:]*)'/g))
          if (m[1]) names.add(m[1]);
      }
    }
  };
  for (const top of ['apps', 'packages'])
    for (const d of readdirSync(join(root, top))) {
      const src = join(root, top, d, 'src');
      try {
        if (statSync(src).isDirectory()) walk(src);
      } catch {
        // a folder without src/
      }
    }
  return names;
}
const baseName = (n: string) => n.replace(/_(bucket|count|sum)$/, '');

describe('Prometheus', () => {
  it('promtool accepts the configuration and the alert rules', () => {
    const config = promtool('check', 'config', 'prometheus.yml');
    expect(config.status, config.output).toBe(0);
    const rules = promtool('check', 'rules', 'alerts.yml');
    expect(rules.status, rules.output).toBe(0);
  });

  it('every alert fires on its failure and stays quiet otherwise (promtool test rules)', () => {
    const res = promtool('test', 'rules', 'alerts.test.yml');
    expect(res.status, res.output).toBe(0);
    const rules = parse(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    };
    const tests = readFileSync(join(promDir, 'alerts.test.yml'), 'utf8');
    for (const r of rules.groups.flatMap((g) => g.rules))
      expect(tests, `${r.alert} has no unit test`).toContain(`alertname: ${r.alert}`);
    for (const name of [
      'VoipInstanceDown',
      'VoipHttpErrorRateHigh',
      'VoipEventLoopLagHigh',
      'VoipStreamBacklogGrowing',
    ])
      expect(rules.groups.flatMap((g) => g.rules).map((r) => r.alert)).toContain(name);
  });

  it('scrapes every node service of docker-compose.yml under its service name', () => {
    const compose = composeConfig(join(root, 'docker-compose.yml'), join(root, '.env.example'));
    expect(compose.ok, compose.stderr).toBe(true);
    const prom = parse(readFileSync(join(promDir, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = new Map<string, string>();
    for (const job of prom.scrape_configs)
      for (const sc of job.static_configs) for (const t of sc.targets) targets.set(t, job.job_name);
    for (const [name, service] of Object.entries(compose.config!.services)) {
      const app = appOf(service);
      if (!app) continue;
      const target = `${name}:${service.environment?.PORT}`;
      expect(targets.get(target), `${target} is not scraped`).toBe(app);
    }
    for (const job of prom.scrape_configs) expect(job.metrics_path ?? '/metrics').toBe('/metrics');
  });

  it('alerts only use metrics the code exports', () => {
    const exported = exportedMetrics();
    const rules = parse(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    };
    for (const r of rules.groups.flatMap((g) => g.rules))
      for (const m of metricNames(r.expr))
        expect(exported.has(baseName(m)) || exported.has(m), `${r.alert}: ${m}`).toBe(true);
  });
});

describe('Grafana', () => {
  const datasources = parse(
    readFileSync(join(grafanaDir, 'provisioning/datasources/prometheus.yml'), 'utf8'),
  ) as {
    datasources: { uid: string; type: string; url: string }[];
  };
  const providers = parse(readFileSync(join(grafanaDir, 'provisioning/dashboards/voip.yml'), 'utf8')) as {
    providers: { options: { path: string } }[];
  };

  it('provisions the Prometheus datasource and a provider reading the mounted dashboards folder', () => {
    expect(datasources.datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
    const path = providers.providers[0]?.options.path;
    expect(compose).toContain(`./infra/grafana/dashboards:${path}:ro`);
    expect(compose).toContain('./infra/grafana/provisioning:/etc/grafana/provisioning:ro');
  });

  it('has the panels operators need, each querying the provisioned datasource', () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase());
    for (const want of [
      'connections',
      'calls by state',
      'call-setup latency',
      'resume outcomes',
      'push outcomes',
      'http latency',
      'http errors',
      'readiness',
    ])
      expect(
        titles.some((t) => t.includes(want)),
        want,
      ).toBe(true);
    for (const p of dashboard.panels) {
      expect(p.datasource?.uid, p.title).toBe('prometheus');
      expect(p.targets?.length, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource?.uid ?? 'prometheus', p.title).toBe('prometheus');
    }
  });

  it('lays panels out without overlap, with unique ids, inside the 24-column grid', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++)
        for (let j = y; j < y + h; j++) {
          expect(cells.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
          cells.add(`${i},${j}`);
        }
    }
  });

  it('queries only metrics the code exports (a renamed metric fails here, not on a blank panel)', () => {
    const exported = exportedMetrics();
    const missing: string[] = [];
    for (const p of dashboard.panels)
      for (const t of p.targets ?? [])
        for (const m of metricNames(t.expr))
          if (!exported.has(baseName(m)) && !exported.has(m)) missing.push(`${p.title}: ${m}`);
    expect(missing).toEqual([]);
  });
});

describe('metricNames', () => {
  it('finds metric names and skips functions, labels, ranges and grouping', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{route!~"/health|x"}[$__rate_interval]))) or vector(0)',
      ),
    ).toEqual(['http_request_duration_seconds_bucket']);
    expect(
      metricNames('max by (stream, group) (bus_stream_lag) + max(bus_stream_pending) > 1000').sort(),
    ).toEqual(['bus_stream_lag', 'bus_stream_pending']);
  });
});
