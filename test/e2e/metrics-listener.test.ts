import { request } from 'node:http';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetricsHandler } from '../../src/metrics/handler';
import { startMetricsListener, type MetricsListener, type Readiness } from '../../src/metrics/listener';
import { GatewayMetrics } from '../../src/metrics/metrics';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function call(port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // agent: false, so no keep-alive socket outlives the test.
    request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('the private metrics listener', () => {
  let metrics: GatewayMetrics;
  let listener: MetricsListener;
  let readiness: Readiness;

  beforeAll(async () => {
    metrics = new GatewayMetrics({ defaultMetrics: true });
    listener = await startMetricsListener({ host: '127.0.0.1', port: 0, registry: metrics.registry, isReady: () => readiness });
  });

  afterAll(() => listener.close());

  beforeEach(() => {
    readiness = { ready: true };
  });

  it('serves the registry at /metrics in the Prometheus text format', async () => {
    metrics.observeRequest('POST', '/v1/messages', 202, 0.01);
    const reply = await call(listener.port, 'GET', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(metrics.registry.contentType);
    expect(reply.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(reply.headers['cache-control']).toBe('no-store');
    const families = parsePrometheusText(reply.body);
    expect(sampleValue(families, 'cryptid_gateway_http_requests_total', { method: 'POST', route: '/v1/messages', status_code: '202' })).toBe(1);
    expect(families.has('process_cpu_user_seconds_total')).toBe(true);
  });

  it('answers HEAD /metrics with the headers of GET and no body', async () => {
    const reply = await call(listener.port, 'HEAD', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(metrics.registry.contentType);
    expect(Number(reply.headers['content-length'])).toBeGreaterThan(0);
    expect(reply.body).toBe('');
  });

  it('ignores the query string', async () => {
    expect((await call(listener.port, 'GET', '/metrics?name[]=x')).status).toBe(200);
    expect((await call(listener.port, 'GET', '/livez?verbose')).status).toBe(200);
  });

  it('answers /livez 200 with GET and HEAD, even when not ready', async () => {
    readiness = { ready: false, reason: 'upstream is unhealthy' };
    const get = await call(listener.port, 'GET', '/livez');
    expect(get.status).toBe(200);
    expect(get.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(get.body)).toEqual({ status: 'ok' });
    const head = await call(listener.port, 'HEAD', '/livez');
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.body).toBe('');
  });

  it('answers /readyz 200 while ready, with GET and HEAD', async () => {
    const get = await call(listener.port, 'GET', '/readyz');
    expect(get.status).toBe(200);
    expect(JSON.parse(get.body)).toEqual({ status: 'ready' });
    const head = await call(listener.port, 'HEAD', '/readyz');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('answers /readyz 503 with the reason while not ready, with GET and HEAD', async () => {
    readiness = { ready: false, reason: 'shutting down' };
    const get = await call(listener.port, 'GET', '/readyz');
    expect(get.status).toBe(503);
    expect(get.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(get.body)).toEqual({ status: 'not_ready', reason: 'shutting down' });
    const head = await call(listener.port, 'HEAD', '/readyz');
    expect(head.status).toBe(503);
    expect(head.body).toBe('');
  });

  it('follows the readiness callback from one request to the next', async () => {
    readiness = { ready: false, reason: 'waiting for the first probe' };
    expect((await call(listener.port, 'GET', '/readyz')).status).toBe(503);
    readiness = { ready: true };
    expect((await call(listener.port, 'GET', '/readyz')).status).toBe(200);
  });

  it('answers /readyz 503 when the readiness callback throws, without leaking the error', async () => {
    const failing = await startMetricsListener({
      host: '127.0.0.1',
      port: 0,
      registry: metrics.registry,
      isReady: () => {
        throw new Error('secret internal detail');
      },
    });
    try {
      const reply = await call(failing.port, 'GET', '/readyz');
      expect(reply.status).toBe(503);
      expect(reply.body).not.toContain('secret');
    } finally {
      await failing.close();
    }
  });

  it.each(['/', '/metrics/', '/v1/health', '/favicon.ico', '/livez/x'])('answers GET %s with a JSON 404', async (path) => {
    const reply = await call(listener.port, 'GET', path);
    expect(reply.status).toBe(404);
    expect(JSON.parse(reply.body)).toMatchObject({ error: 'ENDPOINT_NOT_FOUND' });
  });

  it.each(['POST', 'PUT', 'DELETE'])('answers %s on its endpoints with 405 and Allow', async (method) => {
    for (const path of ['/metrics', '/livez', '/readyz']) {
      const reply = await call(listener.port, method, path);
      expect(reply.status).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    }
  });

  it('fails to start on a port already taken, and reports why', async () => {
    await expect(startMetricsListener({ host: '127.0.0.1', port: listener.port, registry: metrics.registry, isReady: () => readiness })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
  });

  it('closes idle keep-alive connections too, and close can be called twice', async () => {
    const other = await startMetricsListener({ host: '127.0.0.1', port: 0, registry: metrics.registry, isReady: () => readiness });
    const { Agent } = await import('node:http');
    const agent = new Agent({ keepAlive: true });
    await new Promise<void>((resolve, reject) => {
      request({ host: '127.0.0.1', port: other.port, path: '/livez', agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    const start = Date.now();
    await Promise.all([other.close(), other.close()]);
    expect(Date.now() - start).toBeLessThan(1000);
    agent.destroy();
  });
});

describe('the metrics handler in an Express app', () => {
  let server: Server;
  let port: number;
  const metrics = new GatewayMetrics({ defaultMetrics: false });

  beforeAll(async () => {
    const app = express();
    app.get('/app/hello', (_req, res) => {
      res.send('hello');
    });
    app.get('/internal/metrics', createMetricsHandler(metrics.registry));
    server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('serves the registry where the app mounts it, next to the app’s own routes', async () => {
    metrics.setUpstreamStatus('healthy');
    const reply = await call(port, 'GET', '/internal/metrics');
    expect(reply.status).toBe(200);
    expect(sampleValue(parsePrometheusText(reply.body), 'cryptid_gateway_upstream_status', { status: 'healthy' })).toBe(1);
    expect((await call(port, 'GET', '/app/hello')).body).toBe('hello');
  });
});
