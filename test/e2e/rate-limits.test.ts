import { Agent, request } from 'node:http';
import type WebSocket from 'ws';
import { FAILURES } from '../../src/http/error-status';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { testRequest } from '../helpers/http-request';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { refusingUpstreamUrl, startUpstream, type TestUpstream } from '../helpers/upstream';
import { openWs, refusedHandshake, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

const BODY = { error: 'RATE_LIMIT_EXCEEDED', message: FAILURES.rateLimited.message, code: 4004 };

async function metric(gw: TestGateway, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return sampleValue(parsePrometheusText(await gw.gateway.registry.metrics()), name, labels);
}

describe('rate limits (memory store)', () => {
  let upstream: TestUpstream;
  const gateways: TestGateway[] = [];
  const start = async (...args: Parameters<typeof startGateway>): Promise<TestGateway> => {
    const gw = await startGateway(...args);
    gateways.push(gw);
    return gw;
  };

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  afterEach(async () => {
    await Promise.all(gateways.splice(0).map((gw) => gw.close()));
  });
  afterAll(() => upstream.close());

  it('answers 429 RATE_LIMIT_EXCEEDED with retry_after and Retry-After over the limit, and does not forward it', async () => {
    const gw = await start(upstream.url, { rateLimits: { rules: [{ name: 'sends', match: ['POST /v1/messages'], key: 'ip', limit: 2, windowMs: 60_000 }] } });
    const before = upstream.requests.length;
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}' }));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 429, 429]);
    expect(upstream.requests.length - before).toBe(2);
    const refused = answers[2]!;
    const retryAfter = Number(refused.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(61);
    expect(refused.json).toEqual({ ...BODY, retry_after: retryAfter });
    expect(refused.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(refused.headers['ratelimit-policy']).toBe('"sends";q=2;w=60');
    expect(refused.headers.ratelimit).toBe(`"sends";r=0;t=${retryAfter}`);
  });

  it('ends the connection of a refused request only when its body is large or of unknown length', async () => {
    const gw = await start(upstream.url, { rateLimits: { rules: [{ name: 'sends', match: ['POST /v1/messages'], key: 'ip', limit: 1, windowMs: 60_000 }] } });
    await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}' });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const post = (body: string | Buffer, headers: Record<string, string> = {}): Promise<{ status: number; connection: string | undefined; reused: boolean }> =>
      new Promise((resolve, reject) => {
        const req = request(`${gw.url}/v1/messages`, { method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, reused: req.reusedSocket }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const small = await post('{"x":1}');
      expect(small).toMatchObject({ status: 429, connection: 'keep-alive' });
      // The small body was read off: the next request goes on the same connection.
      expect(await post('{}')).toMatchObject({ status: 429, reused: true });
      expect(await post(Buffer.alloc(70_000, 'x'))).toMatchObject({ status: 429, connection: 'close' });
      expect(await post('{}', { 'transfer-encoding': 'chunked' })).toMatchObject({ status: 429, connection: 'close' });
    } finally {
      agent.destroy();
    }
  });

  it('puts RateLimit-Policy and RateLimit on forwarded answers of a limited route, and on no other', async () => {
    const gw = await start(upstream.url, { rateLimits: { rules: [{ name: 'sends', match: ['POST /v1/messages'], key: 'ip', limit: 5, windowMs: 10_000 }] } });
    const first = await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(first.status).toBe(200);
    expect(first.headers['ratelimit-policy']).toBe('"sends";q=5;w=10');
    expect(first.headers.ratelimit).toMatch(/^"sends";r=4;t=(10|[1-9])$/);
    const second = await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}' });
    expect(second.headers.ratelimit).toMatch(/^"sends";r=3;t=\d+$/);
    const elsewhere = await testRequest(`${gw.url}/v1/messages`);
    expect(elsewhere.headers['ratelimit-policy']).toBeUndefined();
    expect(elsewhere.headers.ratelimit).toBeUndefined();
  });

  it("lists the upstream's own RateLimit fields after the gateway's, and keeps the rest of its answer", async () => {
    const limiting = await startUpstream((req, res) => {
      req.resume();
      res.writeHead(200, { 'ratelimit-policy': '"server";q=60;w=60', ratelimit: '"server";r=59;t=60', 'x-upstream': 'yes' }).end('ok');
    });
    try {
      const gw = await start(limiting.url, { rateLimits: { rules: [{ name: 'sends', match: ['/v1/'], key: 'ip', limit: 5, windowMs: 60_000 }] } });
      const res = await testRequest(`${gw.url}/v1/messages`);
      expect(res.headers['ratelimit-policy']).toBe('"sends";q=5;w=60, "server";q=60;w=60');
      expect(res.headers.ratelimit).toMatch(/^"sends";r=4;t=\d+, "server";r=59;t=60$/);
      expect(res.headers['x-upstream']).toBe('yes');
      expect(res.body.toString()).toBe('ok');
    } finally {
      await limiting.close();
    }
  });

  it('puts the RateLimit fields on an error the gateway answers for a limited route too', async () => {
    const gw = await start(await refusingUpstreamUrl(), { rateLimits: { rules: [{ name: 'sends', match: ['/v1/'], key: 'ip', limit: 5, windowMs: 60_000 }] } });
    const res = await testRequest(`${gw.url}/v1/messages`);
    expect(res.status).toBe(502);
    expect(res.json).toMatchObject({ error: 'UPSTREAM_UNAVAILABLE' });
    expect(res.headers['ratelimit-policy']).toBe('"sends";q=5;w=60');
    expect(res.headers.ratelimit).toMatch(/^"sends";r=4;t=\d+$/);
  });

  it('answers HEAD over the limit with the same headers and no body', async () => {
    const gw = await start(upstream.url, { rateLimits: { rules: [{ name: 'all', match: ['/v1/'], key: 'ip', limit: 1, windowMs: 60_000 }] } });
    await testRequest(`${gw.url}/v1/x`, { method: 'HEAD' });
    const refused = await testRequest(`${gw.url}/v1/x`, { method: 'HEAD' });
    expect(refused.status).toBe(429);
    expect(refused.body.length).toBe(0);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(refused.headers['content-length']).toBe(String(Buffer.byteLength(JSON.stringify({ ...BODY, retry_after: Number(refused.headers['retry-after']) }))));
  });

  it('enforces the default rules with the numbers of the document it publishes', async () => {
    const gw = await start(upstream.url, { document: { rate_limits: { federated_messages_per_minute: 3, announcements_per_hour: 1 } } });
    const federation = [];
    for (let i = 0; i < 4; i++) federation.push((await testRequest(`${gw.url}/federation/v1/deliver/tx_${i}`, { method: 'PUT', body: '{}' })).status);
    expect(federation).toEqual([200, 200, 200, 429]);
    const announces = [];
    for (let i = 0; i < 11; i++) announces.push((await testRequest(`${gw.url}/v1/announce`, { method: 'POST', body: '{}' })).status);
    expect(announces).toEqual([...Array<number>(10).fill(200), 429]);
    // Only POST is counted there, and other routes not at all.
    expect((await testRequest(`${gw.url}/v1/announce`)).status).toBe(200);
    expect((await testRequest(`${gw.url}/v1/messages`, { method: 'POST', body: '{}' })).status).toBe(200);
    const discovery = await testRequest(`${gw.url}/.well-known/cryptid`);
    expect(discovery.json).toMatchObject({ rate_limits: { federated_messages_per_minute: 3, announcements_per_hour: 1 } });
    expect((await testRequest(`${gw.url}/federation/v1/deliver/again`, { method: 'PUT', body: '{}' })).headers['ratelimit-policy']).toBe('"federation";q=3;w=60');
  });

  it('counts a spelling of the path that a lenient upstream reads the same way', async () => {
    const gw = await start(upstream.url, { document: { rate_limits: { federated_messages_per_minute: 1, announcements_per_hour: 24 } } });
    expect((await testRequest(`${gw.url}/federation/v1/deliver/a`, { method: 'PUT', body: '{}' })).status).toBe(200);
    for (const path of ['/Federation/v1/deliver/b', '//federation/v1/deliver/c', '/%66ederation/v1/deliver/d', '/v1/../federation/v1/deliver/e']) {
      expect({ path, status: (await testRequest(`${gw.url}${path}`, { method: 'PUT', body: '{}' })).status }).toEqual({ path, status: 429 });
    }
  });

  it('keeps separate counts per bearer token, and per address for requests without one', async () => {
    const gw = await start(upstream.url, { rateLimits: { rules: [{ name: 'sends', match: ['/v1/messages'], key: 'bearer', limit: 1, windowMs: 60_000 }] } });
    const send = async (authorization?: string): Promise<number> => (await testRequest(`${gw.url}/v1/messages`, { headers: authorization ? { authorization } : {} })).status;
    expect(await send('Bearer alice')).toBe(200);
    expect(await send('Bearer alice')).toBe(429);
    expect(await send('Bearer bob')).toBe(200);
    expect(await send()).toBe(200);
    expect(await send()).toBe(429);
  });

  it('keeps separate counts per value of a header rule', async () => {
    const gw = await start(upstream.url, { rateLimits: { rules: [{ name: 'clients', match: ['/v1/'], key: 'header:X-Client-Id', limit: 1, windowMs: 60_000 }] } });
    const send = async (id: string): Promise<number> => (await testRequest(`${gw.url}/v1/x`, { headers: { 'x-client-id': id } })).status;
    expect([await send('a'), await send('a'), await send('b')]).toEqual([200, 429, 200]);
  });

  it("counts refusals by rule, and as the gateway's own 429 answers by route, never by raw path", async () => {
    const gw = await start(upstream.url, { document: { rate_limits: { federated_messages_per_minute: 1, announcements_per_hour: 24 } } });
    for (let i = 0; i < 3; i++) await testRequest(`${gw.url}/federation/v1/deliver/secret-${i}`, { method: 'PUT', body: '{}' });
    expect(await metric(gw, 'cryptid_gateway_rate_limited_total', { rule: 'federation' })).toBe(2);
    expect(await metric(gw, 'cryptid_gateway_rate_limited_total', { rule: 'announce' })).toBe(0);
    expect(await metric(gw, 'cryptid_gateway_rejected_requests_total', { reason: 'rate_limited' })).toBe(2);
    expect(await metric(gw, 'cryptid_gateway_http_requests_total', { method: 'PUT', route: '/federation/v1/deliver/:transaction_id', status_code: '429' })).toBe(2);
    expect(await metric(gw, 'cryptid_gateway_http_requests_total', { method: 'PUT', route: '/federation/v1/deliver/:transaction_id', status_code: '200' })).toBe(1);
    expect(await metric(gw, 'cryptid_gateway_rate_limit_store_up', { store: 'memory' })).toBe(1);
    const text = await gw.gateway.registry.metrics();
    expect(text).not.toContain('secret-');
    expect(text).not.toContain('127.0.0.1');
  });

  it('limits nothing with rateLimits.enabled: false', async () => {
    const gw = await start(upstream.url, { rateLimits: { enabled: false }, document: { rate_limits: { federated_messages_per_minute: 1, announcements_per_hour: 1 } } });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await testRequest(`${gw.url}/federation/v1/deliver/${i}`, { method: 'PUT', body: '{}' })).status);
    expect(statuses).toEqual([200, 200, 200]);
    const text = await gw.gateway.registry.metrics();
    expect(text).not.toMatch(/^cryptid_gateway_rate_limit_store_up/m);
  });
});

describe('rate limits on WebSocket upgrades', () => {
  let upstream: WsUpstream;
  let gw: TestGateway;
  const clients: WebSocket[] = [];

  beforeAll(async () => {
    upstream = await startWsUpstream();
    gw = await startGateway(upstream.url, { rateLimits: { rules: [{ name: 'streams', match: ['/v1/stream'], key: 'bearer', limit: 2, windowMs: 60_000 }] } });
  });
  afterAll(async () => {
    for (const ws of clients) ws.terminate();
    await gw.close();
    await upstream.close();
  });

  it('counts upgrades on a limited route and refuses the one over the limit with 429 on the socket', async () => {
    const url = `${gw.url.replace('http:', 'ws:')}/v1/stream`;
    const headers = { authorization: 'Bearer good' };
    clients.push(await openWs(url, { headers }), await openWs(url, { headers }));
    const refused = await refusedHandshake(url, headers);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toEqual({ ...BODY, retry_after: Number(refused.headers['retry-after']) });
    expect(refused.headers['ratelimit-policy']).toBe('"streams";q=2;w=60');
    expect(refused.headers.ratelimit).toMatch(/^"streams";r=0;t=\d+$/);
    expect(upstream.connections).toHaveLength(2);
    expect(sampleValue(parsePrometheusText(await gw.gateway.registry.metrics()), 'cryptid_gateway_rate_limited_total', { rule: 'streams' })).toBe(1);
  });

  it('counts a token given as access_token like the same token in Authorization', async () => {
    // The upstream refuses it (401), but the gateway counted it first: the bearer's allowance is spent.
    const refused = await refusedHandshake(`${gw.url.replace('http:', 'ws:')}/v1/stream?access_token=good`);
    expect(refused.status).toBe(429);
  });
});
