import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { GatewayMetrics } from '../../src/metrics/metrics';
import { requireExecutable, skipWithout } from '../helpers/executables';
import { exportableNames, metricNamesIn } from '../helpers/promql-names';

const DIR = join(__dirname, '..', '..', 'examples', 'prometheus');
const skip = skipWithout('promtool');

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const result = spawnSync(requireExecutable('promtool', 'prometheus'), args, { cwd, encoding: 'utf8', timeout: 15000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface ScrapeConfig {
  job_name: string;
  kubernetes_sd_configs?: { role: string }[];
  static_configs?: { targets: string[] }[];
  relabel_configs?: unknown[];
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }[] }[];
}

(skip ? describe.skip : describe)(`the Prometheus examples under promtool${skip ? ' (SKIPPED: promtool is not on PATH; apt-get install -y prometheus)' : ''}`, () => {
  let tmp: string;

  beforeAll(() => {
    requireExecutable('promtool', 'prometheus');
    tmp = mkdtempSync(join(tmpdir(), 'cryptid-promtool-'));
  });

  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('passes promtool check config, alert rules included', () => {
    let { status, output } = promtool(['check', 'config', 'scrape.yml'], DIR);
    if (status !== 0 && /field kubernetes_sd_configs not found/.test(output)) {
      // Debian builds Prometheus without Kubernetes discovery. Check everything else
      // (relabelling, rule files) with the discovery block swapped for a static target.
      const config = parse(readFileSync(join(DIR, 'scrape.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] };
      for (const job of config.scrape_configs) {
        if (job.kubernetes_sd_configs) {
          delete job.kubernetes_sd_configs;
          job.static_configs = [{ targets: ['pod.invalid:9464'] }];
        }
      }
      writeFileSync(join(tmp, 'scrape.yml'), stringify(config));
      copyFileSync(join(DIR, 'alerts.yml'), join(tmp, 'alerts.yml'));
      ({ status, output } = promtool(['check', 'config', 'scrape.yml'], tmp));
    }
    expect({ status, output }).toMatchObject({ status: 0 });
  });

  it('passes promtool check rules', () => {
    const { status, output } = promtool(['check', 'rules', 'alerts.yml'], DIR);
    expect({ status, output }).toMatchObject({ status: 0 });
    expect(output).toMatch(/SUCCESS: 6 rules found/);
  });

  it('passes its promtool unit tests, one or more for every alert', () => {
    const { status, output } = promtool(['test', 'rules', 'alerts.test.yml'], DIR);
    expect({ status, output }).toMatchObject({ status: 0 });
    const rules = parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as RuleFile;
    const tests = readFileSync(join(DIR, 'alerts.test.yml'), 'utf8');
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual([
      'CryptidGatewayDown',
      'CryptidUpstreamUnhealthy',
      'CryptidUpstreamDegraded',
      'CryptidGatewayHighErrorShare',
      'CryptidGatewayHighLatencyP99',
      'CryptidCertificateExpiringSoon',
    ]);
    for (const alert of alerts) expect(tests).toMatch(new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`));
  });
});

describe('the Prometheus examples', () => {
  it('has a static job and a Kubernetes pod-discovery job that keeps only the metrics port', () => {
    const config = parse(readFileSync(join(DIR, 'scrape.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] };
    const jobs = config.scrape_configs;
    expect(jobs.some((j) => (j.static_configs?.length ?? 0) > 0)).toBe(true);
    const pods = jobs.find((j) => j.kubernetes_sd_configs !== undefined);
    expect(pods?.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    expect(JSON.stringify(pods?.relabel_configs)).toContain('__meta_kubernetes_pod_container_port_name');
    for (const job of jobs) expect(job.job_name).toMatch(/^cryptid-gateway/);
  });

  it('names only metrics the gateway exports in its alert rules', async () => {
    const exported = await exportableNames(new GatewayMetrics({ defaultMetrics: true }).registry);
    const rules = parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as RuleFile;
    const used = rules.groups.flatMap((g) => g.rules.flatMap((r) => metricNamesIn(r.expr)));
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !exported.has(name))).toEqual([]);
  });
});
