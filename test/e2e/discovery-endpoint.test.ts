import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { createGateway, type Gateway } from '../../src';
import { closeServer, listenLocal } from '../helpers/listen';
import { testRequest } from '../helpers/http-request';
import { startHealthyUpstream, untilStatus, type HealthyUpstream } from '../helpers/healthy-upstream';

const FP = `sha256:${'0123456789abcdef'.repeat(4)}`;

async function serve(gateway: Gateway): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => gateway(req, res));
  const port = await listenLocal(server);
  return { base: `http://127.0.0.1:${port}`, server };
}

let upstream: HealthyUpstream;
beforeAll(async () => {
  upstream = await startHealthyUpstream();
});
afterAll(() => upstream.close());

describe('GET /.well-known/cryptid', () => {
  let gateway: Gateway;
  let server: Server;
  let url: string;

  beforeEach(async () => {
    gateway = createGateway({
      upstream: upstream.url,
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP, websocket: { enabled: true } } },
      logLevel: 'silent',
    });
    const s = await serve(gateway);
    server = s.server;
    url = `${s.base}/.well-known/cryptid`;
    await untilStatus(gateway, 'healthy');
  });
  afterEach(async () => {
    await closeServer(server);
    await gateway.close();
  });

  it('answers 200 with the document and its caching and CORS headers', async () => {
    const res = await testRequest(url);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(Number(res.headers['content-length'])).toBe(res.body.length);
    expect(res.json).toEqual({
      protocol_version: '1.0',
      server_name: 'chat.example.com',
      federation_enabled: true,
      supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
      rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
      message_limits: { max_message_size: 10485760, max_retention_days: 30 },
      websocket: { enabled: true },
      certificate_fingerprint: FP,
    });
    expect(gateway.document).toEqual(res.json);
  });

  it('serves the same bytes and ETag to every request', async () => {
    const [a, b] = await Promise.all([testRequest(url), testRequest(`${url}?cache=bust`)]);
    expect(a.body.equals(b.body)).toBe(true);
    expect(a.headers.etag).toBe(b.headers.etag);
  });

  it('answers HEAD with the same headers and no body', async () => {
    const get = await testRequest(url);
    const head = await testRequest(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const name of ['content-type', 'content-length', 'etag', 'cache-control', 'access-control-allow-origin']) {
      expect(head.headers[name]).toBe(get.headers[name]);
    }
  });

  it('answers 304 to a matching If-None-Match, weak or in a list, and 200 to a stale one', async () => {
    const { headers } = await testRequest(url);
    const etag = headers.etag!;
    for (const inm of [etag, `W/${etag}`, `"old", ${etag}`, '*']) {
      const res = await testRequest(url, { headers: { 'if-none-match': inm } });
      expect(res.status).toBe(304);
      expect(res.body.length).toBe(0);
      expect(res.headers.etag).toBe(etag);
      expect(res.headers['cache-control']).toBe('public, max-age=3600');
    }
    expect((await testRequest(url, { headers: { 'if-none-match': '"stale"' } })).status).toBe(200);
  });

  it('reads If-None-Match in any case and across repeated header lines (RFC 9110 §5.3)', async () => {
    const etag = (await testRequest(url)).headers.etag!;
    const { port } = new URL(url);
    const head = await new Promise<string>((resolve, reject) => {
      let text = '';
      const socket = connect(Number(port), '127.0.0.1', () =>
        socket.write(`GET /.well-known/cryptid HTTP/1.1\r\nHost: x\r\nIF-NONE-MATCH: "old"\r\nif-none-match: ${etag}\r\nConnection: close\r\n\r\n`),
      );
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (text += chunk));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 304 Not Modified');
  });

  it.each(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'])('answers %s with 405, Allow and a JSON error', async (method) => {
    const res = await testRequest(url, { method, body: method === 'OPTIONS' ? undefined : '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.json).toMatchObject({ error: 'METHOD_NOT_ALLOWED' });
  });

  it('answers 503 SERVER_UNAVAILABLE with Retry-After once shutdown has begun', async () => {
    gateway.beginShutdown();
    const res = await testRequest(url);
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retry_after: 5 });
    expect(res.headers['retry-after']).toBe('5');
    const head = await testRequest(url, { method: 'HEAD' });
    expect(head.status).toBe(503);
    expect(head.body.length).toBe(0);
  });
});

describe('discovery switched off', () => {
  it('answers 404 ENDPOINT_NOT_FOUND with the published body', async () => {
    const gateway = createGateway({
      upstream: upstream.url,
      discovery: { enabled: false, document: { server_name: 'chat.example.com', certificate_fingerprint: FP } },
      logLevel: 'silent',
    });
    const { base, server } = await serve(gateway);
    try {
      const res = await testRequest(`${base}/.well-known/cryptid`);
      expect(res.status).toBe(404);
      expect(res.json).toEqual({ error: 'ENDPOINT_NOT_FOUND', message: 'Server does not support Cryptid protocol' });
    } finally {
      await closeServer(server);
      await gateway.close();
    }
  });
});
