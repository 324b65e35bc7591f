import { createServer, request, Agent, type Server } from 'node:http';
import { once } from 'node:events';
import { createGateway, type Gateway } from '../../src';
import { pollUntil } from '../helpers/deadline';
import { testRequest } from '../helpers/http-request';
import { untilStatus } from '../helpers/healthy-upstream';
import { closeServer, listenLocal } from '../helpers/listen';
import { parsePrometheusText, sampleValue, seriesCount, type MetricFamily } from '../helpers/prometheus-text';
import { SwitchableUpstream } from '../helpers/switchable-upstream';
import { closeOf, openWs } from '../helpers/ws-upstream';

const FP = `sha256:${'d'.repeat(64)}`;

describe('the gateway metrics', () => {
  let upstream: SwitchableUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;
  let metricsBase: string;

  beforeAll(async () => {
    upstream = await new SwitchableUpstream().start();
    gateway = createGateway({
      upstream: upstream.url,
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } },
      metrics: { listen: '127.0.0.1:0', defaultMetrics: false },
      health: { probe: { intervalMs: 50, timeoutMs: 300, unhealthyThreshold: 2, healthyThreshold: 1 } },
      logLevel: 'silent',
    });
    const listening = once(gateway as unknown as NodeJS.EventEmitter, 'metricsListening');
    server = createServer(gateway);
    server.on('upgrade', gateway.upgrade);
    base = `http://127.0.0.1:${await listenLocal(server)}`;
    const [address] = (await listening) as [{ port: number }];
    metricsBase = `http://127.0.0.1:${address.port}`;
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    await closeServer(server);
    await gateway.close();
    await upstream.close();
  });

  async function scrape(): Promise<Map<string, MetricFamily>> {
    const res = await testRequest(`${metricsBase}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(res.body.toString());
  }

  it('exports every SPEC §6 metric with its type and labels', async () => {
    const families = await scrape();
    const expected: [string, string][] = [
      ['cryptid_gateway_http_requests_total', 'counter'],
      ['cryptid_gateway_http_request_duration_seconds', 'histogram'],
      ['cryptid_gateway_upstream_status', 'gauge'],
      ['cryptid_gateway_upstream_probes_total', 'counter'],
      ['cryptid_gateway_upstream_probe_duration_seconds', 'histogram'],
      ['cryptid_gateway_upstream_errors_total', 'counter'],
      ['cryptid_gateway_websocket_connections', 'gauge'],
      ['cryptid_gateway_rejected_requests_total', 'counter'],
      ['cryptid_gateway_certificate_expiry_timestamp_seconds', 'gauge'],
      ['cryptid_gateway_build_info', 'gauge'],
    ];
    for (const [name, type] of expected) expect(families.get(name)?.type).toBe(type);
    expect(sampleValue(families, 'cryptid_gateway_build_info', { protocol_version: '1.0' })).toBe(1);
    expect(sampleValue(families, 'cryptid_gateway_upstream_probes_total', { result: 'success' })).toBeGreaterThan(0);
  });

  it('counts requests by exactly the number made, with route templates and never raw paths', async () => {
    const before = await scrape();
    const count = (f: Map<string, MetricFamily>, labels: Record<string, string>): number => sampleValue(f, 'cryptid_gateway_http_requests_total', labels) ?? 0;
    for (let i = 0; i < 3; i++) await testRequest(`${base}/v1/infopackages/secret-segment-${i}`);
    await testRequest(`${base}/.well-known/cryptid`);
    await testRequest(`${base}/v1/health`);
    const after = await scrape();
    expect(
      count(after, { method: 'GET', route: '/v1/infopackages/:url_segment', status_code: '200' }) -
        count(before, { method: 'GET', route: '/v1/infopackages/:url_segment', status_code: '200' }),
    ).toBe(3);
    expect(count(after, { route: '/.well-known/cryptid', status_code: '200' }) - count(before, { route: '/.well-known/cryptid', status_code: '200' })).toBe(1);
    expect(count(after, { route: '/v1/health', status_code: '200' }) - count(before, { route: '/v1/health', status_code: '200' })).toBe(1);
    const text = (await testRequest(`${metricsBase}/metrics`)).body.toString();
    expect(text).not.toContain('secret-segment');
  });

  // The series are bounded by the route table, not by the paths seen: any number of distinct
  // unknown paths must land in the one `other` series. The full 10,000-path sweep over every
  // route prefix is the unit test of GatewayMetrics; here the real gateway is shown to feed
  // it: a few hundred distinct paths over keep-alive sockets, each counted once.
  it('adds no series for two hundred requests to distinct random paths, and counts each one under route other', async () => {
    const N = 200;
    const other = (f: Map<string, MetricFamily>): number => sampleValue(f, 'cryptid_gateway_http_requests_total', { method: 'GET', route: 'other', status_code: '200' }) ?? 0;
    await testRequest(`${base}/random/warm-up`);
    const beforeFamilies = await scrape();
    const before = seriesCount(beforeFamilies, 'cryptid_gateway_http_request');
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    try {
      const send = (i: number): Promise<void> =>
        new Promise((resolve, reject) => {
          const req = request(`${base}/random/${i}/${Math.random().toString(36).slice(2)}`, { agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          });
          req.on('error', reject);
          req.end();
        });
      for (let batch = 0; batch < N / 20; batch++) await Promise.all(Array.from({ length: 20 }, (_, i) => send(batch * 20 + i)));
    } finally {
      agent.destroy();
    }
    const families = await scrape();
    expect({ series: seriesCount(families, 'cryptid_gateway_http_request'), counted: other(families) - other(beforeFamilies) }).toEqual({ series: before, counted: N });
  });

  it('shows the WebSocket tunnel gauge going up and back to zero', async () => {
    const ws = await openWs(`${base.replace('http', 'ws')}/v1/stream`);
    expect(sampleValue(await scrape(), 'cryptid_gateway_websocket_connections')).toBe(1);
    const closed = closeOf(ws);
    ws.close(1000);
    await closed;
    // The tunnel's own close reaches the gauge when both sockets have ended.
    let open: number | undefined;
    await pollUntil(
      async () => (open = sampleValue(await scrape(), 'cryptid_gateway_websocket_connections')) === 0,
      () => `the tunnel gauge back at 0 (it shows ${open})`,
    );
  });

  it('keeps /metrics private: on the public port it is just another proxied path', async () => {
    const res = await testRequest(`${base}/metrics`);
    expect(res.json).toEqual({ method: 'GET', url: '/metrics' });
    expect(upstream.requests).toContain('GET /metrics');
  });

  it('follows the upstream: the status gauge matches /v1/health, /livez stays 200, /readyz follows the state', async () => {
    const gauge = async (): Promise<string | undefined> => {
      const f = await scrape();
      return (['healthy', 'degraded', 'unhealthy'] as const).find((s) => sampleValue(f, 'cryptid_gateway_upstream_status', { status: s }) === 1);
    };
    expect(await gauge()).toBe('healthy');
    expect((await testRequest(`${metricsBase}/readyz`)).status).toBe(200);

    upstream.mode = 'error500';
    await untilStatus(gateway, 'unhealthy');
    expect(await gauge()).toBe(((await testRequest(`${base}/v1/health`)).json as { status: string }).status);
    expect(await gauge()).toBe('unhealthy');
    const ready = await testRequest(`${metricsBase}/readyz`);
    expect(ready.status).toBe(503);
    expect((await testRequest(`${metricsBase}/livez`)).status).toBe(200);
    const f = await scrape();
    expect(sampleValue(f, 'cryptid_gateway_upstream_state_transitions_total', { from: 'degraded', to: 'unhealthy' })).toBe(1);

    upstream.mode = 'healthy';
    await untilStatus(gateway, 'healthy');
    expect(await gauge()).toBe('healthy');
    expect((await testRequest(`${metricsBase}/readyz`)).status).toBe(200);
  });
});

describe('the GC histogram through the gateway options', () => {
  it.each([
    [{}, false],
    [{ gcDurations: true }, true],
  ])('metrics %j: nodejs_gc_duration_seconds exported: %s, beside the other default metrics', async (options, exported) => {
    const gateway = createGateway({
      upstream: 'http://127.0.0.1:9',
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } },
      metrics: { listen: '127.0.0.1:0', ...options },
      logLevel: 'silent',
    });
    try {
      const listening = once(gateway as unknown as NodeJS.EventEmitter, 'metricsListening');
      const [address] = (await listening) as [{ port: number }];
      const res = await testRequest(`http://127.0.0.1:${address.port}/metrics`);
      const families = parsePrometheusText(res.body.toString());
      expect({ process: families.has('process_cpu_user_seconds_total'), gc: families.has('nodejs_gc_duration_seconds') }).toEqual({ process: true, gc: exported });
    } finally {
      await gateway.close();
    }
  });
});
