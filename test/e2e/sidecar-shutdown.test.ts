import { once } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:tls';
import WebSocket from 'ws';
import { startServer, type RunningServer, type StartServerOptions } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { testRequest } from '../helpers/http-request';
import { untilStatus } from '../helpers/healthy-upstream';
import { withDeadline } from '../helpers/deadline';
import { captureLog } from '../helpers/log-capture';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { SwitchableUpstream } from '../helpers/switchable-upstream';

describe('graceful shutdown of the sidecar', () => {
  let cert: TestCert;
  let upstream: SwitchableUpstream;
  let running: RunningServer;

  beforeEach(async () => {
    cert = makeCert();
    upstream = await new SwitchableUpstream().start();
    running = await startServer({
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: '127.0.0.1:0', defaultMetrics: false },
      discovery: { document: { server_name: 'chat.example.com' } },
      health: { probe: { intervalMs: 60_000, timeoutMs: 1000 } },
      shutdown: { drainDelayMs: 300, timeoutMs: 5000 },
      logger: captureLog().logger,
    });
    await untilStatus(running.gateway, 'healthy');
  });
  afterEach(async () => {
    await running.close();
    await upstream.close();
    cert.cleanup();
  });

  it('drains: 503 health at once, traffic flows through the delay, the in-flight request completes, tunnels get 1001', async () => {
    const ws = new WebSocket(`${running.url.replace('https://127.0.0.1', 'wss://localhost')}/v1/stream`, { ca: cert.cert });
    await once(ws, 'open');
    const wsClosed = once(ws, 'close');

    // A request the upstream holds until the test releases it. On a connection of its own
    // (agent: false): a keep-alive agent's idle socket would hold the stop back until the
    // server's keepAliveTimeout (5 s), which is not what this test is about.
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${running.url}/v1/slow`, { ca: cert.cert, servername: 'localhost', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end();
    });
    await upstream.held_(1);

    const stopped = running.shutdown();
    let done = false;
    void stopped.then(() => (done = true));

    // Shutting down at once: load balancers see 503, discovery too; the scrape still answers.
    const health = await testRequest(`${running.url}/v1/health`, { ca: cert.cert });
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ status: 'unhealthy', details: 'shutting down' });
    expect((await testRequest(`${running.url}/.well-known/cryptid`, { ca: cert.cert })).status).toBe(503);
    expect((await testRequest(`http://127.0.0.1:${running.metricsPort}/readyz`)).status).toBe(503);
    expect((await testRequest(`http://127.0.0.1:${running.metricsPort}/metrics`)).status).toBe(200);
    // During the drain delay, new requests are still forwarded.
    expect((await testRequest(`${running.url}/v1/messages`, { ca: cert.cert, method: 'POST', body: '{}' })).status).toBe(200);

    // The tunnel is closed with 1001 when the listener stops accepting.
    const [code] = (await wsClosed) as [number];
    expect(code).toBe(1001);
    // New connections are refused once the drain delay is over.
    const refused = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert });
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');

    expect(done).toBe(false); // still waiting for the request in flight
    upstream.release();
    expect(await inFlight).toEqual({ status: 200, body: '{"slow":"done"}' });
    await stopped;
  });

  it('with failFast on, still forwards during the drain delay and leaves upstream_status alone', async () => {
    await running.close();
    running = await startServer({
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: '127.0.0.1:0', defaultMetrics: false },
      discovery: { document: { server_name: 'chat.example.com' } },
      health: { probe: { intervalMs: 60_000, timeoutMs: 1000 } },
      proxy: { failFast: true },
      // Long enough for the requests below to land inside it; the test waits it out at the end.
      shutdown: { drainDelayMs: 3000, timeoutMs: 1000 },
      logger: captureLog().logger,
    });
    await untilStatus(running.gateway, 'healthy');
    const stopped = running.shutdown();
    const metricsUrl = `http://127.0.0.1:${running.metricsPort}`;
    expect((await testRequest(`${metricsUrl}/readyz`)).json).toEqual({ status: 'not_ready', reason: 'shutting down' });

    const before = upstream.requests.length;
    const res = await testRequest(`${running.url}/v1/messages`, { ca: cert.cert, method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(upstream.requests.slice(before)).toEqual(['POST /v1/messages']);

    const families = parsePrometheusText((await testRequest(`${metricsUrl}/metrics`)).body.toString());
    expect(sampleValue(families, 'cryptid_gateway_upstream_status', { status: 'healthy' })).toBe(1);
    expect(running.gateway.health.status).toBe('healthy');
    await stopped;
  });

  it('cuts requests still in flight after shutdown.timeoutMs and still stops', async () => {
    await running.close();
    running = await startServer({
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: false },
      discovery: { document: { server_name: 'chat.example.com' } },
      shutdown: { drainDelayMs: 0, timeoutMs: 200 },
      logger: captureLog().logger,
    });
    const inFlight = new Promise<string>((resolve) => {
      const req = httpsRequest(`${running.url}/v1/slow`, { ca: cert.cert, servername: 'localhost' }, (res) => {
        res.resume();
        res.on('end', () => resolve('ended'));
        res.on('error', () => resolve('cut'));
      });
      req.on('error', () => resolve('cut'));
      req.end();
    });
    await upstream.held_(1);
    await running.shutdown();
    expect(await inFlight).toBe('cut');
  });

  it('stops by the shutdown settings of the last reload, not those it started with', async () => {
    await running.close();
    const options: StartServerOptions = {
      upstream: upstream.url,
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      metrics: { listen: false },
      discovery: { document: { server_name: 'chat.example.com' } },
      // Started with a drain delay far beyond the test's deadline: only the reloaded value lets it stop in time.
      shutdown: { drainDelayMs: 60_000, timeoutMs: 60_000 },
      logger: captureLog().logger,
    };
    running = await startServer(options);
    const outcome = running.reload({ ...options, shutdown: { drainDelayMs: 0, timeoutMs: 1000 } });
    expect(outcome).toMatchObject({ result: 'applied', changed: ['shutdown.drainDelayMs', 'shutdown.timeoutMs'] });
    await withDeadline(running.shutdown(), 'the graceful stop with the reloaded drainDelayMs: 0');
    const refused = connect({ host: '127.0.0.1', port: running.port, servername: 'localhost', ca: cert.cert });
    const [err] = (await once(refused, 'error')) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNREFUSED');
  });
});
