import express from 'express';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, startServer, type Gateway, type RunningServer } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { gatewayOptions, startGateway, type TestGateway } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { captureLog } from '../helpers/log-capture';
import { sha256, startRecordingUpstream, type ReceivedBody, type RecordingUpstream } from '../helpers/recording-upstream';
import { refusedHandshake } from '../helpers/ws-upstream';

const JSON_BODY = '{ "recipient_address": "d1@chat.example.com" }';

/** The status of a GET sent with `target` exactly as written (URL parsing would resolve its dot segments). */
function statusOfRawTarget(server: Server, target: string): Promise<number> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: target, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `proxy.paths` lets an app mount the gateway first, with its own routes and body parsers
 * behind it: the gateway forwards only those prefixes and hands everything else on.
 */
describe('proxy.paths with the gateway mounted first in an Express app', () => {
  let upstream: RecordingUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gateway = createGateway(gatewayOptions(upstream.url, { proxy: { paths: ['/v1/', '/federation/'] } }));
    const app = express();
    app.use(gateway);
    app.use(express.json());
    app.post('/app/echo', (req, res) => {
      res.json({ parsed: req.body as unknown });
    });
    server = createServer(app);
    server.on('upgrade', gateway.upgrade);
    base = `http://127.0.0.1:${await listenLocal(server)}`;
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    if (server) await closeServer(server);
    await gateway?.close();
    await upstream?.close();
  });

  it('forwards a listed prefix before any body parser has run, byte for byte', async () => {
    const res = await testRequest(`${base}/v1/messages`, { method: 'POST', body: JSON_BODY, headers: { 'content-type': 'application/json' } });
    expect(res.json).toMatchObject({ url: '/v1/messages', length: Buffer.byteLength(JSON_BODY), sha256: sha256(JSON_BODY) });
  });

  it('hands every other path to the app, whose parsers and routes work as before', async () => {
    const before = upstream.received.length;
    const res = await testRequest(`${base}/app/echo`, { method: 'POST', body: JSON_BODY, headers: { 'content-type': 'application/json' } });
    expect(res.json).toEqual({ parsed: JSON.parse(JSON_BODY) });
    expect((await testRequest(`${base}/elsewhere`)).status).toBe(404);
    expect(upstream.received.length).toBe(before);
  });

  it('always answers discovery and health itself', async () => {
    expect((await testRequest(`${base}/.well-known/cryptid`)).status).toBe(200);
    expect((await testRequest(`${base}/v1/health`)).json).toMatchObject({ status: 'healthy' });
  });

  it('judges the path every way it can be read: a dot segment does not lead in or out', async () => {
    const before = upstream.received.length;
    // Read literally it starts with /v1/; resolved it is /app/echo: not forwarded (the app does not route it either).
    expect(await statusOfRawTarget(server, '/v1/../app/echo')).toBe(404);
    expect(await statusOfRawTarget(server, '/app/../v1/messages')).toBe(404);
    expect(upstream.received.length).toBe(before);
  });

  it('hands upgrades on a listed prefix to the upstream and answers 400 to the others', async () => {
    // This upstream speaks no WebSocket: its plain answer, relayed, shows the handshake reached it.
    const relayed = await refusedHandshake(`${base.replace('http:', 'ws:')}/v1/stream`);
    expect(relayed.status).toBe(200);
    expect(JSON.parse(relayed.body)).toMatchObject({ url: '/v1/stream' });
    const refused = await refusedHandshake(`${base.replace('http:', 'ws:')}/app/socket`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'UNSUPPORTED_UPGRADE' });
  });
});

describe('proxy.paths without a framework to hand on to', () => {
  let upstream: RecordingUpstream;
  let gw: TestGateway;
  let cert: TestCert;
  let running: RunningServer;

  beforeAll(async () => {
    upstream = await startRecordingUpstream();
    gw = await startGateway(upstream.url, { proxy: { paths: ['/v1'] } });
    cert = makeCert();
    running = await startServer({
      ...gatewayOptions(upstream.url, { proxy: { paths: ['/v1/'] } }),
      listen: '127.0.0.1:0',
      tls: { cert: cert.certPath, key: cert.keyPath },
      discovery: { document: { server_name: 'chat.example.com' } },
      metrics: { listen: false },
      logger: captureLog().logger,
    });
    await untilStatus(gw.gateway, 'healthy');
  });
  afterAll(async () => {
    await running?.close();
    cert?.cleanup();
    await gw?.close();
    await upstream?.close();
  });

  it('answers 404 ENDPOINT_NOT_FOUND under http.createServer(gateway)', async () => {
    const res = await testRequest(`${gw.url}/v1x`);
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ error: 'ENDPOINT_NOT_FOUND', message: 'No such endpoint' });
    // A prefix is a whole path segment: /v1 covers /v1 and /v1/…, not /v1x.
    expect((await testRequest(`${gw.url}/v1`)).json).toMatchObject({ url: '/v1' } satisfies Partial<ReceivedBody>);
  });

  it('answers 404 ENDPOINT_NOT_FOUND in serve, and forwards the listed prefixes', async () => {
    const other = await testRequest(`${running.url}/admin/v1/users`, { ca: cert.cert });
    expect(other.status).toBe(404);
    expect(other.json).toEqual({ error: 'ENDPOINT_NOT_FOUND', message: 'No such endpoint' });
    expect((await testRequest(`${running.url}/v1/messages`, { ca: cert.cert })).json).toMatchObject({ url: '/v1/messages' });
    expect(upstream.received.map((r) => r.url)).not.toContain('/admin/v1/users');
  });
});
