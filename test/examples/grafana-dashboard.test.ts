import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { GatewayMetrics } from '../../src/metrics/metrics';
import { requireExecutable, skipWithout } from '../helpers/executables';
import { exportableNames, metricNamesIn } from '../helpers/promql-names';

const FILE = join(__dirname, '..', '..', 'examples', 'grafana', 'dashboard.json');

interface Target {
  expr?: string;
  refId?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
interface Dashboard {
  title: string;
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; query?: unknown }[] };
}

const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row');
const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr ?? '' })));

/** Grafana's variables replaced by values Prometheus accepts, so that promtool can parse the query. */
function asPromQL(expr: string): string {
  return expr.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m').replace(/\$(job|instance)\b/g, '.*');
}

describe('the Grafana dashboard', () => {
  it('is valid JSON with a stable uid and unique panel ids', () => {
    expect(dashboard.uid).toBe('cryptid-gateway');
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('queries through the dashboard’s data source variable in every panel and target', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'job', 'instance']);
    for (const panel of queryPanels) {
      expect({ panel: panel.title, uid: panel.datasource?.uid }).toEqual({ panel: panel.title, uid: '${datasource}' });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.expr).toMatch(/job=~"\$job", instance=~"\$instance"/);
    }
  });

  it.each([
    ['request rate', /request rate/i],
    ['error share', /error share/i],
    ['latency percentiles per route', /latency p99 by route/i],
    ['upstream state timeline', /upstream state/i],
    ['WebSocket tunnels', /websocket/i],
    ['certificate expiry', /certificate/i],
  ])('has a panel for %s', (_topic, title) => {
    expect(queryPanels.some((p) => title.test(p.title))).toBe(true);
  });

  it('names only metrics that exist in a fresh GatewayMetrics registry', async () => {
    const exported = await exportableNames(new GatewayMetrics({ defaultMetrics: true }).registry);
    const unknown = exprs.flatMap(({ panel, expr }) =>
      metricNamesIn(expr)
        .filter((n) => !exported.has(n))
        .map((n) => `${panel}: ${n}`),
    );
    expect(unknown).toEqual([]);
    const used = new Set(exprs.flatMap(({ expr }) => metricNamesIn(expr)));
    expect(used.size).toBeGreaterThanOrEqual(10);
  });

  it('shows the upstream state as one value per instance, mapped to the three state names', () => {
    const panel = queryPanels.find((p) => p.type === 'state-timeline') as Panel & {
      fieldConfig: { defaults: { mappings: { options: Record<string, { text: string }> }[] } };
    };
    const texts = Object.values(panel.fieldConfig.defaults.mappings[0]?.options ?? {}).map((o) => o.text);
    expect(texts).toEqual(['healthy', 'degraded', 'unhealthy']);
  });

  const skip = skipWithout('promtool');
  (skip ? it.skip : it)(`has queries that parse as PromQL${skip ? ' (SKIPPED: promtool is not on PATH; apt-get install -y prometheus)' : ''}`, () => {
    // promtool has no offline query parser; recording rules are parsed in full.
    const dir = mkdtempSync(join(tmpdir(), 'cryptid-dashboard-'));
    try {
      const rules = exprs.map(({ expr }, i) => ({ record: `dashboard:query${i}`, expr: asPromQL(expr) }));
      writeFileSync(join(dir, 'rules.yml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = spawnSync(requireExecutable('promtool', 'prometheus'), ['check', 'rules', 'rules.yml'], {
        cwd: dir,
        encoding: 'utf8',
        timeout: 15000,
      });
      expect({ status: result.status, output: `${result.stdout}${result.stderr}` }).toMatchObject({ status: 0 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
