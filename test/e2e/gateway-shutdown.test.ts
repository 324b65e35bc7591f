import type { HostPort, StatusChange } from '../../src';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

/**
 * The drain of a library-mode gateway: `beginShutdown()` is what a host app calls on SIGTERM
 * while Kubernetes is still sending traffic. Shutting down is the gateway's state, not a
 * verdict on the upstream.
 */
describe('a gateway that has begun shutting down', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;
  let metrics: HostPort;
  const changes: StatusChange[] = [];

  beforeAll(async () => {
    upstream = await startUpstream((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"sent":true}'));
    gw = await startGateway(upstream.url, { proxy: { failFast: true }, metrics: { listen: '127.0.0.1:0', defaultMetrics: false } });
    metrics = (await gw.gateway.metricsListener())!;
    await untilStatus(gw.gateway, 'healthy');
    gw.gateway.on('status', (change) => changes.push(change));
    gw.gateway.beginShutdown();
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers health, discovery and /readyz with 503', async () => {
    const health = await testRequest(`${gw.url}/v1/health`);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ status: 'unhealthy', details: 'shutting down' });
    expect((await testRequest(`${gw.url}/.well-known/cryptid`)).status).toBe(503);
    const ready = await testRequest(`http://127.0.0.1:${metrics.port}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.json).toEqual({ status: 'not_ready', reason: 'shutting down' });
  });

  it('still forwards proxied requests to the upstream with failFast on', async () => {
    const before = upstream.requests.length;
    const res = await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ sent: true });
    expect(upstream.requests.length).toBe(before + 1);
  });

  it('leaves the upstream verdict, upstream_status and the status events alone', async () => {
    expect(gw.gateway.health.status).toBe('healthy');
    expect(changes).toEqual([]);
    const families = parsePrometheusText((await testRequest(`http://127.0.0.1:${metrics.port}/metrics`)).body.toString());
    expect(sampleValue(families, 'cryptid_gateway_upstream_status', { status: 'healthy' })).toBe(1);
    expect(sampleValue(families, 'cryptid_gateway_upstream_status', { status: 'unhealthy' })).toBe(0);
    expect(sampleValue(families, 'cryptid_gateway_upstream_state_transitions_total', { from: 'healthy', to: 'unhealthy' })).toBe(0);
  });
});
