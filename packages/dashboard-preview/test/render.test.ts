// The dashboard preview's drawing: legends, units, and one element per panel of the real dashboard,
// drawn from series or marked "No data" when a query returned nothing.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type Dashboard,
  formatValue,
  legend,
  type PanelData,
  renderDashboard,
} from '../src/render.js';

const dashboard = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', '..', '..', 'infra/grafana/dashboards/voip.json'), 'utf8'),
) as Dashboard;

describe('preview rendering', () => {
  it('fills legend templates from series labels', () => {
    expect(legend('{{job}} {{route}}', { job: 'call', route: '/api/calls' })).toBe('call /api/calls');
    expect(legend('{{missing}} x', {})).toBe('x');
    expect(legend(undefined, { a: '1' })).toBe('a="1"');
  });

  it('formats values by unit', () => {
    expect(formatValue(0.0123, 's')).toBe('12 ms');
    expect(formatValue(0.0045, 's')).toBe('4.5 ms');
    expect(formatValue(0.25, 's')).toBe('250 ms');
    expect(formatValue(1.5, 's')).toBe('1.5 s');
    expect(formatValue(0.04, 'reqps')).toBe('0.04 req/s');
    expect(formatValue(2500)).toBe('2.5k');
    expect(formatValue(7)).toBe('7');
  });

  it('draws every panel of the dashboard at its grid position, with data or "No data"', () => {
    const [first, second] = dashboard.panels;
    const t0 = 1_700_000_000;
    const data: PanelData = new Map([
      [
        first!.id,
        [
          [
            {
              labels: {},
              points: [
                [t0, 5],
                [t0 + 5, 6],
              ] as [number, number][],
            },
          ],
        ],
      ],
      [
        second!.id,
        [
          [
            {
              labels: { instance_id: 'signaling-1' },
              points: Array.from({ length: 10 }, (_, i) => [t0 + i * 5, i] as [number, number]),
            },
          ],
        ],
      ],
    ]);
    const { html, height } = renderDashboard(dashboard, data, {
      range: [t0, t0 + 60],
      caption: 'test <caption>',
    });
    expect(html.match(/class="panel"/g)).toHaveLength(dashboard.panels.length);
    expect(html).toContain('test &lt;caption&gt;');
    expect(html).toContain('>6</text>');
    expect(html.match(/No data/g)).toHaveLength(dashboard.panels.length - 2);
    const bottom = Math.max(...dashboard.panels.map((p) => p.gridPos.y + p.gridPos.h));
    expect(height).toBeGreaterThan(bottom * 30);
  });
});
