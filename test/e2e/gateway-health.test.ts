import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway, type GatewayOptions } from '../../src';
import type { StatusChange } from '../../src/health/states';
import { waitFor } from '../helpers/deadline';
import { testRequest } from '../helpers/http-request';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { untilStatus } from '../helpers/healthy-upstream';
import { closeServer, listenLocal } from '../helpers/listen';
import { SwitchableUpstream } from '../helpers/switchable-upstream';
import { openWs, refusedHandshake } from '../helpers/ws-upstream';

const FP = `sha256:${'c'.repeat(64)}`;

interface Running {
  gateway: Gateway;
  server: Server;
  base: string;
  changes: StatusChange[];
}

async function start(upstream: SwitchableUpstream, extra: Partial<GatewayOptions> = {}): Promise<Running> {
  const gateway = createGateway({
    upstream: upstream.url,
    discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } },
    health: { version: '9.9.9', probe: { intervalMs: 40, timeoutMs: 300, unhealthyThreshold: 3, healthyThreshold: 2 } },
    logLevel: 'silent',
    ...extra,
  });
  const changes: StatusChange[] = [];
  gateway.on('status', (c) => changes.push(c));
  const server = createServer(gateway);
  server.on('upgrade', gateway.upgrade);
  const base = `http://127.0.0.1:${await listenLocal(server)}`;
  return { gateway, server, base, changes };
}

async function stop(r: Running): Promise<void> {
  await closeServer(r.server);
  await r.gateway.close();
}

describe('the gateway tracking its upstream', () => {
  let upstream: SwitchableUpstream;
  let r: Running | undefined;
  beforeEach(async () => {
    upstream = await new SwitchableUpstream().start();
  });
  afterEach(async () => {
    if (r) await stop(r);
    r = undefined;
    await upstream.close();
  });

  it('is unhealthy until the first probe answers: health 503 with details, discovery 503', async () => {
    upstream.mode = 'hang';
    r = await start(upstream, { health: { probe: { intervalMs: 60_000, timeoutMs: 60_000 } } });
    const health = await testRequest(`${r.base}/v1/health`);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ status: 'unhealthy', details: 'waiting for the first probe' });
    expect((await testRequest(`${r.base}/.well-known/cryptid`)).status).toBe(503);
  });

  it('answers /v1/health 200 with status, timestamp, version and uptime once healthy, GET and HEAD, no-store', async () => {
    r = await start(upstream);
    await untilStatus(r.gateway, 'healthy');
    const before = Math.floor(Date.now() / 1000);
    const res = await testRequest(`${r.base}/v1/health`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.json as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['status', 'timestamp', 'uptime', 'version']);
    expect(body).toMatchObject({ status: 'healthy', version: '9.9.9' });
    expect(body.timestamp).toBeGreaterThanOrEqual(before);
    expect(Number.isInteger(body.uptime)).toBe(true);
    const head = await testRequest(`${r.base}/v1/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect((await testRequest(`${r.base}/v1/health`, { method: 'POST' })).status).toBe(405);
    expect(r.changes[0]).toMatchObject({ status: 'healthy', previous: 'unhealthy' });
  });

  it('answers health from held state: a burst of health checks adds no upstream calls', async () => {
    r = await start(upstream, { health: { probe: { intervalMs: 60_000, timeoutMs: 1000 } } });
    await untilStatus(r.gateway, 'healthy');
    const hits = upstream.probeHits;
    await Promise.all(Array.from({ length: 50 }, () => testRequest(`${r!.base}/v1/health`)));
    expect(upstream.probeHits).toBe(hits);
    expect(upstream.requests).toEqual([]);
  });

  it('reports degraded with the upstream reason, and 200', async () => {
    upstream.mode = 'degraded';
    r = await start(upstream);
    await untilStatus(r.gateway, 'degraded');
    const res = await testRequest(`${r.base}/v1/health`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'degraded', details: 'upstream reports degraded: queue backlog high' });
    expect((await testRequest(`${r.base}/.well-known/cryptid`)).status).toBe(200);
  });

  it.each(['error500', 'html', 'unknown'] as const)('counts a probe answered %s as a failure: degraded, then unhealthy at the threshold, then recovers', async (mode) => {
    r = await start(upstream);
    await untilStatus(r.gateway, 'healthy');
    upstream.mode = mode;
    await untilStatus(r.gateway, 'unhealthy');
    const health = await testRequest(`${r.base}/v1/health`);
    expect(health.status).toBe(503);
    expect(health.json).toMatchObject({ status: 'unhealthy', details: expect.stringMatching(/^3 consecutive probes failed: /) });
    expect((await testRequest(`${r.base}/.well-known/cryptid`)).json).toMatchObject({ error: 'SERVER_UNAVAILABLE' });
    upstream.mode = 'healthy';
    await untilStatus(r.gateway, 'healthy');
    expect(r.changes.map((c) => c.status)).toEqual(['healthy', 'degraded', 'unhealthy', 'healthy']);
    expect(r.changes[3]!.reason).toBe('upstream healthy');
  });

  it('turns a killed upstream unhealthy within one probe timeout thanks to live traffic, then recovers when it returns', async () => {
    r = await start(upstream, { health: { probe: { intervalMs: 1000, timeoutMs: 500, unhealthyThreshold: 3, healthyThreshold: 1 } } });
    await untilStatus(r.gateway, 'healthy');
    const failedProbes = async (): Promise<number | undefined> =>
      sampleValue(parsePrometheusText(await r!.gateway.registry.metrics()), 'cryptid_gateway_upstream_probes_total', { result: 'failure' });
    await upstream.kill();
    const unhealthy = untilStatus(r.gateway, 'unhealthy');
    for (let i = 0; i < 3; i++) expect((await testRequest(`${r.base}/v1/messages`, { method: 'POST', body: '{}' })).status).toBe(502);
    await unhealthy;
    // Not three scheduled probes a second apart (unhealthyThreshold 3): the one probe the
    // failed traffic sent at once, which answers within its timeout, decided it.
    expect(await failedProbes()).toBe(1);
    expect(r.gateway.health.reason).toMatch(/live traffic could not reach the upstream and a probe confirmed it/);
    await upstream.start(); // back on the same port
    await untilStatus(r.gateway, 'healthy');
    expect((await testRequest(`${r.base}/v1/messages`, { method: 'POST', body: '{}' })).status).toBe(200);
  });

  it('with failFast off, still forwards while unhealthy (a wrong verdict must not black-hole traffic)', async () => {
    r = await start(upstream);
    upstream.mode = 'error500';
    await untilStatus(r.gateway, 'unhealthy');
    const res = await testRequest(`${r.base}/v1/messages`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(200);
    expect(upstream.requests).toEqual(['POST /v1/messages']);
  });

  it('with failFast on, answers 503 with retry_after while unhealthy without contacting the upstream, HTTP and WebSocket alike', async () => {
    r = await start(upstream, { proxy: { failFast: true } });
    upstream.mode = 'error500';
    await untilStatus(r.gateway, 'unhealthy');
    const res = await testRequest(`${r.base}/v1/messages`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retry_after: 5 });
    expect(res.headers['retry-after']).toBe('5');
    const ws = await refusedHandshake(`${r.base.replace('http', 'ws')}/v1/stream`);
    expect(ws.status).toBe(503);
    expect(upstream.requests).toEqual([]);
    // Probing goes on, and traffic flows again once the upstream recovers.
    upstream.mode = 'healthy';
    await untilStatus(r.gateway, 'healthy');
    expect((await testRequest(`${r.base}/v1/messages`, { method: 'POST', body: '{}' })).status).toBe(200);
    const open = await openWs(`${r.base.replace('http', 'ws')}/v1/stream`);
    open.close();
  });

  it('an upstream that flaps on every probe gives consistent events and never a crash', async () => {
    r = await start(upstream, { health: { probe: { intervalMs: 20, timeoutMs: 300, unhealthyThreshold: 2, healthyThreshold: 2 } } });
    await untilStatus(r.gateway, 'healthy');
    const running = r;
    // Flip the answer after every probe; wait for several changes of state.
    const flipped = waitFor(
      () => `5 status changes while flapping (${running.changes.length}: ${running.changes.map((c) => c.status).join(', ')})`,
      (done) => {
        const onStatus = (): void => {
          if (running.changes.length >= 5) done();
        };
        running.gateway.on('status', onStatus);
        return () => running.gateway.off('status', onStatus);
      },
    );
    const flips = setInterval(() => {
      upstream.mode = upstream.mode === 'healthy' ? 'error500' : 'healthy';
    }, 20);
    try {
      await flipped;
    } finally {
      clearInterval(flips);
    }
    upstream.mode = 'healthy';
    await untilStatus(r.gateway, 'healthy');
    for (let i = 1; i < r.changes.length; i++) expect(r.changes[i]!.previous).toBe(r.changes[i - 1]!.status);
    expect(r.changes.length).toBeGreaterThanOrEqual(5);
  });
});
