import { spawnSync } from 'node:child_process';
import { Registry, collectDefaultMetrics } from 'prom-client';
import {
  GatewayMetrics,
  METRIC_NAMES,
  PROBE_RESULTS,
  REJECT_REASONS,
  REQUEST_DURATION_BUCKETS,
  UPSTREAM_ERROR_REASONS,
  UPSTREAM_STATES,
  methodLabel,
  statusCodeLabel,
} from '../../../src/metrics/metrics';
import { ROUTES, routeOf } from '../../../src/protocol/routes';
import { PACKAGE_VERSION } from '../../../src/version';
import { requireExecutable, skipWithout } from '../../helpers/executables';
import { parsePrometheusText, sampleValue, seriesCount, type MetricFamily } from '../../helpers/prometheus-text';

async function scrape(metrics: GatewayMetrics): Promise<Map<string, MetricFamily>> {
  return parsePrometheusText(await metrics.registry.metrics());
}

function labelNames(family: MetricFamily | undefined): string[] {
  if (!family) throw new Error('missing family');
  const names = new Set<string>();
  for (const s of family.samples) for (const k of Object.keys(s.labels)) if (k !== 'le') names.add(k);
  return [...names].sort();
}

/** SPEC §6, plus the two the issue adds: name → [type, label names]. */
const EXPECTED: Record<string, [string, string[]]> = {
  cryptid_gateway_http_requests_total: ['counter', ['method', 'route', 'status_code']],
  cryptid_gateway_http_request_duration_seconds: ['histogram', ['method', 'route', 'status_code']],
  cryptid_gateway_upstream_status: ['gauge', ['status']],
  cryptid_gateway_upstream_probes_total: ['counter', ['result']],
  cryptid_gateway_upstream_probe_duration_seconds: ['histogram', []],
  cryptid_gateway_upstream_errors_total: ['counter', ['reason']],
  cryptid_gateway_websocket_connections: ['gauge', []],
  cryptid_gateway_rejected_requests_total: ['counter', ['reason']],
  cryptid_gateway_certificate_expiry_timestamp_seconds: ['gauge', []],
  cryptid_gateway_build_info: ['gauge', ['protocol_version', 'version']],
  cryptid_gateway_config_reloads_total: ['counter', ['result']],
  cryptid_gateway_upstream_state_transitions_total: ['counter', ['from', 'to']],
  cryptid_gateway_upstream_sockets: ['gauge', ['state']],
  cryptid_gateway_rate_limited_total: ['counter', ['rule']],
  cryptid_gateway_rate_limit_store_errors_total: ['counter', []],
  cryptid_gateway_rate_limit_store_up: ['gauge', ['store']],
  cryptid_gateway_discovery_refreshes_total: ['counter', ['result']],
  cryptid_gateway_discovery_last_success_timestamp_seconds: ['gauge', []],
};

describe('GatewayMetrics', () => {
  it('exports every metric of SPEC §6 with its name, type and label set', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.observeRequest('GET', '/v1/health', 200, 0.001);
    metrics.probe('success', 0.002);
    metrics.setRateLimitRules(['federation']);
    metrics.setRateLimitStoreUp('redis', true);
    const families = await scrape(metrics);
    const own = [...families.keys()].filter((n) => n.startsWith('cryptid_gateway_')).sort();
    expect(own).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.values(METRIC_NAMES).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const [name, [type, labels]] of Object.entries(EXPECTED)) {
      const family = families.get(name);
      expect({ name, type: family?.type, labels: labelNames(family) }).toEqual({ name, type, labels });
      expect(family?.help).not.toBe('');
    }
  });

  it('uses its own registry, never the global default one', async () => {
    const { register } = await import('prom-client');
    const before = register.getMetricsAsArray().length;
    const metrics = new GatewayMetrics({ defaultMetrics: true });
    expect(register.getMetricsAsArray()).toHaveLength(before);
    expect(metrics.registry).not.toBe(register);
  });

  it('registers in a registry the caller passes, next to the caller’s own metrics', async () => {
    const registry = new Registry();
    const metrics = new GatewayMetrics({ registry, defaultMetrics: false });
    expect(metrics.registry).toBe(registry);
    expect(registry.getSingleMetric(METRIC_NAMES.requests)).toBeDefined();
  });

  it('adds process and Node.js metrics only when defaultMetrics is on', async () => {
    const on = await scrape(new GatewayMetrics({ defaultMetrics: true }));
    const off = await scrape(new GatewayMetrics({ defaultMetrics: false }));
    expect(on.has('process_cpu_user_seconds_total')).toBe(true);
    expect([...on.keys()].some((n) => n.startsWith('nodejs_'))).toBe(true);
    expect([...off.keys()].filter((n) => !n.startsWith('cryptid_gateway_'))).toEqual([]);
  });

  it("observes V8's collections only with gcDurations: the GC histogram is off by default", async () => {
    const byDefault = await scrape(new GatewayMetrics({ defaultMetrics: true }));
    expect(byDefault.has('process_cpu_user_seconds_total')).toBe(true);
    expect(byDefault.has('nodejs_heap_size_used_bytes')).toBe(true);
    expect(byDefault.has('nodejs_gc_duration_seconds')).toBe(false);

    const metrics = new GatewayMetrics({ defaultMetrics: false, gcDurations: true });
    // Garbage enough for young collections; their entries reach the observer asynchronously.
    let count = 0;
    for (let round = 0; round < 50 && count === 0; round++) {
      for (let i = 0; i < 20000; i++) void new Array(64).fill(i);
      await new Promise((resolve) => setTimeout(resolve, 10));
      const family = (await scrape(metrics)).get('nodejs_gc_duration_seconds');
      count = family ? family.samples.filter((s) => s.name === 'nodejs_gc_duration_seconds_count').reduce((sum, s) => sum + s.value, 0) : 0;
    }
    expect(count).toBeGreaterThan(0);
    const families = await scrape(metrics);
    expect([...families.keys()].filter((n) => !n.startsWith('cryptid_gateway_'))).toEqual(['nodejs_gc_duration_seconds']);
  });

  it('names only counters *_total, the default metrics included (the Prometheus naming rule promtool checks)', async () => {
    const families = await scrape(new GatewayMetrics({ defaultMetrics: true }));
    const misnamed = [...families.values()].filter((f) => f.type !== 'counter' && f.name.endsWith('_total')).map((f) => f.name);
    expect(misnamed).toEqual([]);
    // What the dropped totals said is still there, by type.
    for (const name of ['nodejs_active_handles', 'nodejs_active_requests', 'nodejs_active_resources']) expect(families.has(name)).toBe(true);
  });

  it(`passes promtool check metrics${skipWithout('promtool') ? ' (SKIPPED: promtool is not on PATH; apt-get install -y prometheus)' : ''}`, async () => {
    if (skipWithout('promtool')) return;
    const text = await new GatewayMetrics({ defaultMetrics: true }).registry.metrics();
    const result = spawnSync(requireExecutable('promtool', 'prometheus'), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 15000 });
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('accepts a registry in which the caller already collects the default metrics', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    expect(() => new GatewayMetrics({ registry, defaultMetrics: true })).not.toThrow();
  });

  it('refuses a second gateway in the same registry, naming the metric', () => {
    const registry = new Registry();
    new GatewayMetrics({ registry, defaultMetrics: false });
    expect(() => new GatewayMetrics({ registry, defaultMetrics: false })).toThrow(/cryptid_gateway_http_requests_total/);
  });

  it('moves the request counter and histogram by exactly the observations made', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    for (let i = 0; i < 7; i++) metrics.observeRequest('POST', '/v1/messages', 202, 0.02);
    for (let i = 0; i < 3; i++) metrics.observeRequest('POST', '/v1/messages', 502, 1.5);
    metrics.observeRequest('GET', '/.well-known/cryptid', 304, 0.0005);
    const f = await scrape(metrics);
    const labels = { method: 'POST', route: '/v1/messages' };
    expect(sampleValue(f, 'cryptid_gateway_http_requests_total', { ...labels, status_code: '202' })).toBe(7);
    expect(sampleValue(f, 'cryptid_gateway_http_requests_total', { ...labels, status_code: '502' })).toBe(3);
    expect(sampleValue(f, 'cryptid_gateway_http_requests_total', { method: 'GET', route: '/.well-known/cryptid', status_code: '304' })).toBe(1);
    const d = 'cryptid_gateway_http_request_duration_seconds';
    expect(sampleValue(f, `${d}_count`, { ...labels, status_code: '202' })).toBe(7);
    expect(sampleValue(f, `${d}_sum`, { ...labels, status_code: '202' })).toBeCloseTo(0.14, 10);
    expect(sampleValue(f, `${d}_bucket`, { ...labels, status_code: '502', le: '1' })).toBe(0);
    expect(sampleValue(f, `${d}_bucket`, { ...labels, status_code: '502', le: '2' })).toBe(3);
    expect(sampleValue(f, `${d}_bucket`, { ...labels, status_code: '502', le: '+Inf' })).toBe(3);
    expect(seriesCount(f, 'cryptid_gateway_http_requests_total')).toBe(3);
  });

  it('uses buckets from a millisecond to a minute', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.observeRequest('GET', 'other', 404, 0.0001);
    const f = await scrape(metrics);
    const les = f
      .get('cryptid_gateway_http_request_duration_seconds')
      ?.samples.filter((s) => s.name.endsWith('_bucket'))
      .map((s) => s.labels.le);
    expect(les).toEqual([...REQUEST_DURATION_BUCKETS.map(String), '+Inf']);
    expect(REQUEST_DURATION_BUCKETS[0]).toBe(0.001);
    expect(REQUEST_DURATION_BUCKETS.at(-1)).toBe(60);
  });

  it('labels methods outside the standard set OTHER and odd status codes by class or other', async () => {
    expect(methodLabel('PROPFIND')).toBe('OTHER');
    expect(methodLabel('get')).toBe('OTHER');
    expect(methodLabel(undefined)).toBe('OTHER');
    expect(methodLabel('PATCH')).toBe('PATCH');
    expect(statusCodeLabel(200)).toBe('200');
    expect(statusCodeLabel(599)).toBe('5xx');
    expect(statusCodeLabel(299)).toBe('2xx');
    expect(statusCodeLabel(0)).toBe('other');
    expect(statusCodeLabel(99)).toBe('other');
    expect(statusCodeLabel(600)).toBe('other');
    expect(statusCodeLabel(-1)).toBe('other');
    expect(statusCodeLabel(Number.NaN)).toBe('other');
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.observeRequest('PROPFIND', '/v1/other', 207, 0.01);
    metrics.observeRequest('MKCOL', '/v1/other', 799, 0.01);
    const f = await scrape(metrics);
    expect(sampleValue(f, 'cryptid_gateway_http_requests_total', { method: 'OTHER', status_code: '207' })).toBe(1);
    expect(sampleValue(f, 'cryptid_gateway_http_requests_total', { method: 'OTHER', status_code: 'other' })).toBe(1);
  });

  it('adds no series for ten thousand requests to random paths', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    // Every route label once, so the fallbacks that random paths land in already exist.
    for (const route of ROUTES) metrics.observeRequest('GET', route, 404, 0.001);
    const before = seriesCount(await scrape(metrics));
    const prefixes = ['/', '/v1/', '/v1/infopackages/', '/v1/keypackages/', '/federation/', '/federation/v1/deliver/', '/admin/v1/', '/admin/', '/.well-known/'];
    for (let i = 0; i < 10_000; i++) {
      const random = `${Math.random().toString(36).slice(2)}/${i % 3 === 0 ? Math.random().toString(16).slice(2) : ''}?q=${i}`;
      const url = `${prefixes[i % prefixes.length] as string}${random}`;
      metrics.observeRequest('GET', routeOf('GET', url), 404, 0.001);
    }
    const after = await scrape(metrics);
    expect(seriesCount(after)).toBe(before);
    expect(seriesCount(after, 'cryptid_gateway_http_requests_total')).toBe(ROUTES.length);
    let total = 0;
    for (const s of after.get('cryptid_gateway_http_requests_total')?.samples ?? []) total += s.value;
    expect(total).toBe(ROUTES.length + 10_000);
  });

  it('bounds the series of every label combination, whatever the input', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    for (let i = 0; i < 5000; i++) {
      metrics.observeRequest(Math.random().toString(36), routeOf('GET', `/v1/${i}`), Math.floor(Math.random() * 1000) - 100, 0.001);
    }
    const f = await scrape(metrics);
    // One method (OTHER), one route (/v1/other), and status labels: 5 classes + named codes + other.
    expect(seriesCount(f, 'cryptid_gateway_http_requests_total')).toBeLessThanOrEqual(70);
  });

  it('reports the upstream status as 1 for the current state and 0 for the others', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    let f = await scrape(metrics);
    for (const status of UPSTREAM_STATES) expect(sampleValue(f, METRIC_NAMES.upstreamStatus, { status })).toBe(0);
    for (const current of ['unhealthy', 'healthy', 'degraded'] as const) {
      metrics.setUpstreamStatus(current);
      f = await scrape(metrics);
      for (const status of UPSTREAM_STATES) {
        expect(sampleValue(f, METRIC_NAMES.upstreamStatus, { status })).toBe(status === current ? 1 : 0);
      }
    }
  });

  it('counts state transitions by from and to, starting every pair at zero', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.stateTransition('unhealthy', 'healthy');
    metrics.stateTransition('healthy', 'degraded');
    metrics.stateTransition('degraded', 'healthy');
    metrics.stateTransition('healthy', 'degraded');
    metrics.stateTransition('healthy', 'healthy');
    const f = await scrape(metrics);
    const t = METRIC_NAMES.stateTransitions;
    expect(seriesCount(f, t)).toBe(6);
    expect(sampleValue(f, t, { from: 'unhealthy', to: 'healthy' })).toBe(1);
    expect(sampleValue(f, t, { from: 'healthy', to: 'degraded' })).toBe(2);
    expect(sampleValue(f, t, { from: 'degraded', to: 'healthy' })).toBe(1);
    expect(sampleValue(f, t, { from: 'degraded', to: 'unhealthy' })).toBe(0);
    expect(sampleValue(f, t, { from: 'healthy', to: 'healthy' })).toBeUndefined();
  });

  it('counts probes by result and observes their duration', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.probe('success', 0.004);
    metrics.probe('success', 0.006);
    metrics.probe('failure', 2);
    const f = await scrape(metrics);
    for (const result of PROBE_RESULTS) expect(sampleValue(f, METRIC_NAMES.probes, { result })).toBe({ success: 2, degraded: 0, failure: 1 }[result]);
    expect(sampleValue(f, `${METRIC_NAMES.probeDuration}_count`)).toBe(3);
    expect(sampleValue(f, `${METRIC_NAMES.probeDuration}_sum`)).toBeCloseTo(2.01, 10);
  });

  it('counts upstream errors and rejections by reason, each reason starting at zero', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.upstreamError('refused');
    metrics.upstreamError('timeout');
    metrics.upstreamError('timeout');
    metrics.rejected('body_too_large');
    metrics.rejected('shutting_down');
    metrics.rejected('shutting_down');
    const f = await scrape(metrics);
    for (const reason of UPSTREAM_ERROR_REASONS) {
      expect(sampleValue(f, METRIC_NAMES.upstreamErrors, { reason })).toBe(reason === 'refused' ? 1 : reason === 'timeout' ? 2 : 0);
    }
    expect(Object.fromEntries(f.get(METRIC_NAMES.rejected)?.samples.map((s) => [s.labels.reason, s.value]) ?? [])).toEqual({
      body_too_large: 1,
      federation_disabled: 0,
      fail_fast: 0,
      shutting_down: 2,
      body_already_read: 0,
      bad_request: 0,
      method_not_allowed: 0,
      not_implemented: 0,
      header_not_forwardable: 0,
      rate_limited: 0,
      rate_limit_store_unavailable: 0,
    });
    expect([...REJECT_REASONS].sort()).toEqual([
      'bad_request',
      'body_already_read',
      'body_too_large',
      'fail_fast',
      'federation_disabled',
      'header_not_forwardable',
      'method_not_allowed',
      'not_implemented',
      'rate_limit_store_unavailable',
      'rate_limited',
      'shutting_down',
    ]);
    expect([...UPSTREAM_ERROR_REASONS].sort()).toEqual(['dns', 'other', 'protocol', 'refused', 'reset', 'timeout', 'tls', 'unreachable']);
  });

  it('counts rate-limit refusals by rule from zero, store errors, and the store state under the store in use', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    const before = await scrape(metrics);
    expect(before.get(METRIC_NAMES.rateLimitStoreUp)?.samples ?? []).toEqual([]);
    metrics.setRateLimitRules(['federation', 'announce']);
    metrics.setRateLimitRules(['federation', 'announce']);
    metrics.rateLimited('announce');
    metrics.rateLimited('announce');
    metrics.rateLimited('not-a-rule');
    metrics.rateLimitStoreError();
    metrics.setRateLimitStoreUp('redis', false);
    const f = await scrape(metrics);
    expect(Object.fromEntries(f.get(METRIC_NAMES.rateLimited)?.samples.map((s) => [s.labels.rule, s.value]) ?? [])).toEqual({ federation: 0, announce: 2 });
    expect(sampleValue(f, METRIC_NAMES.rateLimitStoreErrors, {})).toBe(1);
    expect(f.get(METRIC_NAMES.rateLimitStoreUp)?.samples).toEqual([expect.objectContaining({ labels: { store: 'redis' }, value: 0 })]);
    metrics.setRateLimitStoreUp('redis', true);
    expect(sampleValue(await scrape(metrics), METRIC_NAMES.rateLimitStoreUp, { store: 'redis' })).toBe(1);
  });

  it('moves the WebSocket gauge up and back to zero, never below', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    metrics.tunnelOpened();
    metrics.tunnelOpened();
    expect(sampleValue(await scrape(metrics), METRIC_NAMES.websocketConnections)).toBe(2);
    metrics.tunnelClosed();
    metrics.tunnelClosed();
    metrics.tunnelClosed();
    expect(sampleValue(await scrape(metrics), METRIC_NAMES.websocketConnections)).toBe(0);
    metrics.tunnelOpened();
    expect(sampleValue(await scrape(metrics), METRIC_NAMES.websocketConnections)).toBe(1);
  });

  it('publishes the certificate expiry, 0 until one is set', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    expect(sampleValue(await scrape(metrics), METRIC_NAMES.certificateExpiry)).toBe(0);
    metrics.setCertificateExpiry(1_900_000_000);
    expect(sampleValue(await scrape(metrics), METRIC_NAMES.certificateExpiry)).toBe(1_900_000_000);
  });

  it('has exactly one build_info series, the package version by default', async () => {
    const metrics = new GatewayMetrics({ defaultMetrics: false });
    let f = await scrape(metrics);
    expect(f.get(METRIC_NAMES.buildInfo)?.samples).toEqual([{ name: METRIC_NAMES.buildInfo, labels: { version: PACKAGE_VERSION, protocol_version: '1.0' }, value: 1 }]);
    metrics.setBuildInfo('9.9.9', '1.1');
    f = await scrape(metrics);
    expect(f.get(METRIC_NAMES.buildInfo)?.samples).toEqual([{ name: METRIC_NAMES.buildInfo, labels: { version: '9.9.9', protocol_version: '1.1' }, value: 1 }]);
  });

  describe('upstream pool gauges', () => {
    it('read sockets in use and free from every watched pool at scrape time', async () => {
      const metrics = new GatewayMetrics({ defaultMetrics: false });
      const counts = { inUse: 0, free: 0 };
      const stop = metrics.watchPool({ inUse: () => counts.inUse, free: () => counts.free });
      const stopOther = metrics.watchPool({ inUse: () => 1, free: () => 2 });
      const pool = async (state: string) => sampleValue(await scrape(metrics), METRIC_NAMES.upstreamSockets, { state });
      expect([await pool('in_use'), await pool('free')]).toEqual([1, 2]);
      counts.inUse = 3;
      counts.free = 4;
      expect([await pool('in_use'), await pool('free')]).toEqual([4, 6]);
      stop();
      stopOther();
      expect([await pool('in_use'), await pool('free')]).toEqual([0, 0]);
    });
  });
});
