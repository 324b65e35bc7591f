import { once } from 'node:events';
import express from 'express';
import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway } from '../../src';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { captureLog, type CapturedLog } from '../helpers/log-capture';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { startRecordingUpstream, type RecordingUpstream } from '../helpers/recording-upstream';

const FP = `sha256:${'e'.repeat(64)}`;
/** More than the passive health signal's minimum (20 requests, 10 % errors): counted as upstream failures, they would mark it degraded. */
const REQUESTS = 25;

/**
 * A middleware of the host app sets a header HTTP cannot carry. The gateway cannot send
 * that request as it stands: the client gets a 500 that says so, the upstream is not
 * contacted, and nothing counts against the upstream's health (it did nothing wrong). The
 * answer itself, header by header, is in proxy-upstream-framing.test.ts; here, what an
 * operator sees of it: the log line, the metrics, the health.
 */
describe.each(['net', 'undici'] as const)('a request header a middleware made unsendable (proxy.engine: %s)', (engine) => {
  let upstream: RecordingUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;
  let metricsBase: string;
  let log: CapturedLog;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    log = captureLog();
    gateway = createGateway({
      upstream: upstream.url,
      logger: log.logger,
      proxy: { engine },
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } },
      metrics: { listen: '127.0.0.1:0', defaultMetrics: false },
      health: { probe: { intervalMs: 50, timeoutMs: 300, unhealthyThreshold: 2, healthyThreshold: 1 } },
    });
    const listening = once(gateway as unknown as NodeJS.EventEmitter, 'metricsListening');
    const app = express();
    app.use((req, _res, next) => {
      const bad = req.headers['x-make-bad'];
      if (bad === 'line-break') req.headers['x-tenant'] = 'acme\r\nx-injected: 1';
      else if (bad === 'name') req.headers['bad name'] = 'x';
      next();
    });
    app.use(gateway);
    server = createServer(app);
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

  it('logs it, counts it as a rejection, never against the upstream, whose health stays healthy', async () => {
    for (let i = 0; i < REQUESTS; i++) {
      const res = await testRequest(`${base}/v1/messages`, {
        method: 'POST',
        body: 'hi',
        headers: { 'content-type': 'text/plain', 'x-make-bad': i % 2 === 0 ? 'line-break' : 'name' },
      });
      expect(res.status).toBe(500);
    }
    const logged = log.lines.filter((l) => l.event === 'header_not_forwardable');
    expect(logged).toHaveLength(REQUESTS);
    expect(logged[0]).toMatchObject({ level: 40, method: 'POST', route: '/v1/messages', requestId: expect.any(String) });
    const families = parsePrometheusText((await testRequest(`${metricsBase}/metrics`)).body.toString());
    expect(sampleValue(families, 'cryptid_gateway_rejected_requests_total', { reason: 'header_not_forwardable' })).toBe(REQUESTS);
    const upstreamErrors = families.get('cryptid_gateway_upstream_errors_total')?.samples.reduce((sum, s) => sum + s.value, 0);
    expect(upstreamErrors).toBe(0);
    expect(upstream.received.filter((r) => r.url === '/v1/messages')).toEqual([]);
    expect(gateway.health.status).toBe('healthy');
    // An untouched request still goes through.
    expect((await testRequest(`${base}/v1/ping`)).status).toBe(200);
  });
});
