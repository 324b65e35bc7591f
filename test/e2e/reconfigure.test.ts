import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ConfigError, type GatewayOptions, type ReconfigureResult } from '../../src';
import { gatewayOptions, startGateway, type TestGateway } from '../helpers/gateway';
import { withDeadline, pollUntil } from '../helpers/deadline';
import { untilStatus } from '../helpers/healthy-upstream';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { startUpstream, type TestUpstream } from '../helpers/upstream';
import { startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

/** One GET on `agent`, with the local port of the socket it went out on. */
function get(url: string, agent: Agent | false = false): Promise<{ status: number; headers: IncomingMessage['headers']; body: string; localPort: number | undefined }> {
  return withDeadline(
    new Promise((resolve, reject) => {
      const req = request(url, { agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (t: string) => (body += t));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, localPort: (req.socket as Socket | null)?.localPort }));
      });
      req.on('error', reject);
      req.end();
    }),
    `GET ${url}`,
  );
}

async function scrape(gateway: TestGateway['gateway']): Promise<ReturnType<typeof parsePrometheusText>> {
  return parsePrometheusText(await gateway.registry.metrics());
}

describe('gateway.reconfigure()', () => {
  let upstream: WsUpstream;
  let gw: TestGateway;
  let options: GatewayOptions;
  const limitedRule = (limit: number) => ({ name: 'limited', match: ['/v1/limited'], key: 'ip' as const, limit, windowMs: 60_000 });

  beforeEach(async () => {
    upstream = await startWsUpstream((_req, res) => res.end('ok'));
    options = gatewayOptions(upstream.url, { rateLimits: { rules: [limitedRule(1)] } });
    gw = await startGateway(upstream.url, { rateLimits: { rules: [limitedRule(1)] } });
    await untilStatus(gw.gateway, 'healthy');
  });
  afterEach(async () => {
    await gw.close();
    await upstream.close();
  });

  it('changes the document and a rate-limit rule, keeping a keep-alive connection and an open tunnel', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/v1/stream`, ['cryptid.v1'], { headers: { authorization: 'Bearer good' } });
    try {
      await withDeadline(new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject)), 'the tunnel to open');
      const before = await get(`${gw.url}/v1/limited`, agent);
      expect(before.status).toBe(200);
      expect((await get(`${gw.url}/v1/limited`, agent)).status).toBe(429);

      const result: ReconfigureResult = gw.gateway.reconfigure({
        ...options,
        discovery: { document: { ...options.discovery.document, server_name: 'new.example.test' } },
        rateLimits: { rules: [limitedRule(3)] },
      });
      expect(result).toEqual({ changed: ['discovery.document.server_name', 'rateLimits.rules'], kept: [] });

      // The same socket, and the counts carried over: one more of the three is left, then 429.
      const after = await get(`${gw.url}/v1/limited`, agent);
      expect(after).toMatchObject({ status: 200, localPort: before.localPort });
      expect(after.headers['ratelimit-policy']).toContain('q=3');
      expect((await get(`${gw.url}/.well-known/cryptid`, agent)).body).toContain('"server_name":"new.example.test"');
      expect(gw.gateway.document?.server_name).toBe('new.example.test');
      expect(gw.gateway.config.discovery.document.server_name).toBe('new.example.test');

      const echoed = new Promise<string>((resolve) => ws.once('message', (data: Buffer) => resolve(data.toString())));
      ws.send('still here');
      expect(await withDeadline(echoed, 'the echo through the old tunnel')).toBe('still here');
    } finally {
      ws.terminate();
      agent.destroy();
    }
  });

  it('forwards by the new proxy settings from the next request on', async () => {
    expect((await get(`${gw.url}/elsewhere`)).status).toBe(200);
    expect(gw.gateway.reconfigure({ ...options, proxy: { paths: ['/v1/'] } }).changed).toEqual(['proxy.paths']);
    expect((await get(`${gw.url}/elsewhere`)).status).toBe(404);
    expect((await get(`${gw.url}/v1/x`)).status).toBe(200);
  });

  it('turns discovery and rate limits off and on again', async () => {
    expect((await get(`${gw.url}/v1/limited`)).status).toBe(200);
    expect(gw.gateway.reconfigure({ ...options, discovery: { ...options.discovery, enabled: false }, rateLimits: { ...options.rateLimits, enabled: false } }).changed).toEqual([
      'discovery.enabled',
      'rateLimits.enabled',
    ]);
    expect((await get(`${gw.url}/.well-known/cryptid`)).status).toBe(404);
    const unlimited = await get(`${gw.url}/v1/limited`);
    expect(unlimited.status).toBe(200);
    expect(unlimited.headers['ratelimit-policy']).toBeUndefined();
    // No store while limits are off: its series goes, as when they were never on.
    expect(await gw.gateway.registry.metrics()).not.toMatch(/^cryptid_gateway_rate_limit_store_up/m);

    gw.gateway.reconfigure(options);
    expect((await get(`${gw.url}/.well-known/cryptid`)).status).toBe(200);
    expect((await get(`${gw.url}/v1/limited`)).status).toBe(200);
    expect((await get(`${gw.url}/v1/limited`)).status).toBe(429);
    expect(await gw.gateway.registry.metrics()).toMatch(/^cryptid_gateway_rate_limit_store_up\{store="memory"\} 1$/m);
  });

  it('is all or nothing: a valid document change beside an invalid proxy value changes nothing', () => {
    const config = gw.gateway.config;
    let error: unknown;
    try {
      gw.gateway.reconfigure({
        ...options,
        discovery: { document: { ...options.discovery.document, server_name: 'new.example.test' } },
        proxy: { timeoutMs: -1 },
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.path)).toEqual(['proxy.timeoutMs']);
    expect(gw.gateway.config).toBe(config);
    expect(gw.gateway.document?.server_name).toBe('chat.example.test');
  });

  it('refuses a change to listen or metrics.listen whole, naming each key as needing a restart', () => {
    let error: unknown;
    try {
      gw.gateway.reconfigure({ ...options, listen: '127.0.0.1:1', metrics: { listen: '127.0.0.1:2' }, proxy: { timeoutMs: 5 } });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      { path: 'listen', message: expect.stringContaining('needs a restart') },
      { path: 'metrics.listen', message: expect.stringContaining('needs a restart') },
    ]);
    expect(gw.gateway.config.proxy.timeoutMs).toBe(30_000);
  });

  it('counts each result in cryptid_gateway_config_reloads_total', async () => {
    expect(sampleValue(await scrape(gw.gateway), 'cryptid_gateway_config_reloads_total', { result: 'applied' })).toBe(0);
    gw.gateway.reconfigure({ ...options, proxy: { timeoutMs: 1000 } });
    gw.gateway.reconfigure({ ...options, proxy: { timeoutMs: 1000 } });
    expect(() => gw.gateway.reconfigure({ ...options, upstream: 'ftp://nope' })).toThrow(ConfigError);
    const families = await scrape(gw.gateway);
    const count = (result: string): number | undefined => sampleValue(families, 'cryptid_gateway_config_reloads_total', { result });
    expect([count('applied'), count('unchanged'), count('rejected'), count('partial')]).toEqual([1, 1, 1, 0]);
  });

  it('keeps the health verdict and moves the probes to the new interval', async () => {
    const since = gw.gateway.health.since;
    const probesBefore = await probeCount();
    gw.gateway.reconfigure({ ...options, health: { probe: { ...options.health?.probe, intervalMs: 20 } } });
    expect(gw.gateway.health).toMatchObject({ status: 'healthy', since });
    // Sixty seconds was the old interval: only the new one brings probes within the deadline.
    await pollUntil(async () => (await probeCount()) >= probesBefore + 3, 'three probes on the new interval');
    expect(gw.gateway.health).toMatchObject({ status: 'healthy', since });
  });

  async function probeCount(): Promise<number> {
    return sampleValue(await scrape(gw.gateway), 'cryptid_gateway_upstream_probes_total', { result: 'success' }) ?? 0;
  }
});

describe('gateway.reconfigure() with a new upstream', () => {
  let first: TestUpstream;
  let second: TestUpstream;
  let gw: TestGateway;
  const held: ServerResponse[] = [];

  beforeEach(async () => {
    first = await startUpstream((req, res) => (req.url === '/v1/slow' ? held.push(res) : res.end('first')));
    second = await startUpstream((_req, res) => res.end('second'));
    gw = await startGateway(first.url);
  });
  afterEach(async () => {
    for (const res of held.splice(0)) res.destroy();
    await gw.close();
    await first.close();
    await second.close();
  });

  it('sends new requests to the new upstream while a request in flight finishes on the old one', async () => {
    const slow = get(`${gw.url}/v1/slow`);
    await first.nextRequest();
    gw.gateway.reconfigure(gatewayOptions(second.url));
    expect(gw.gateway.config.upstream.origin).toBe(second.url);
    expect((await get(`${gw.url}/v1/x`)).body).toBe('second');
    held.shift()?.end('first, finished');
    expect(await slow).toMatchObject({ status: 200, body: 'first, finished' });
  });
});
