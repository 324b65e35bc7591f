import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer as createHttpServer, get as httpGet, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, get as httpsGet } from 'node:https';
import type { AddressInfo } from 'node:net';
import express5 from 'express';
import middie from '@fastify/middie';
import fastify from 'fastify';
import Koa from 'koa';
import c2k from 'koa-connect';
import WebSocket from 'ws';
import { createGateway, type Gateway, type GatewayOptions } from '../../src';
import { makeCert, type TestCert } from '../helpers/certs';
import { withDeadline } from '../helpers/deadline';
import { express4 } from '../helpers/express4';
import { gatewayOptions } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { closeServer } from '../helpers/listen';
import { sha256 } from '../helpers/recording-upstream';
import { readBody } from '../helpers/upstream';
import { closeOf, nextMessage, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

/** The prefixes the hosts with routes of their own give the gateway. */
const PATHS = ['/v1/', '/federation/'];
const BODY = randomBytes(256 * 1024);

/** A host app with the gateway in it, listening on 127.0.0.1:0. */
interface Host {
  readonly url: string;
  /** Its own route, `/app/hello`, answers `{"hello":"world"}`; hosts without routes have none. */
  readonly ownRoutes: boolean;
  close(): Promise<void>;
}

type HostFactory = (gateway: Gateway, cert: TestCert) => Promise<Host>;

function urlOf(server: Server, scheme = 'http'): string {
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function listening(server: Server, scheme = 'http'): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return urlOf(server, scheme);
}

/** Express: the gateway first with proxy.paths, the app's parser and routes behind it. */
function expressHost(express: typeof express5): HostFactory {
  return async (gateway) => {
    const app = express();
    app.use(gateway);
    app.use(express.json());
    app.get('/app/hello', (_req, res) => {
      res.json({ hello: 'world' });
    });
    const server = createHttpServer(app);
    server.on('upgrade', gateway.upgrade);
    return { url: await listening(server), ownRoutes: true, close: () => closeServer(server) };
  };
}

const HOSTS: readonly [name: string, options: Partial<GatewayOptions>, factory: HostFactory][] = [
  ['Express 5', { proxy: { paths: PATHS } }, expressHost(express5)],
  ['Express 4', { proxy: { paths: PATHS } }, expressHost(express4)],
  [
    'http.createServer(gateway)',
    {},
    async (gateway) => {
      const server = createHttpServer(gateway);
      server.on('upgrade', gateway.upgrade);
      return { url: await listening(server), ownRoutes: false, close: () => closeServer(server) };
    },
  ],
  [
    'https.createServer(gateway)',
    {},
    async (gateway, cert) => {
      const server = createHttpsServer({ cert: cert.cert, key: cert.key }, gateway);
      server.on('upgrade', gateway.upgrade);
      return { url: await listening(server, 'https'), ownRoutes: false, close: () => closeServer(server) };
    },
  ],
  [
    'Koa with koa-connect',
    { proxy: { paths: PATHS } },
    async (gateway) => {
      const app = new Koa();
      app.use(c2k(gateway));
      app.use((ctx) => {
        if (ctx.path === '/app/hello') ctx.body = { hello: 'world' };
      });
      const server = app.listen(0, '127.0.0.1');
      await once(server, 'listening');
      server.on('upgrade', gateway.upgrade);
      return { url: urlOf(server), ownRoutes: true, close: () => closeServer(server) };
    },
  ],
  [
    'Fastify with @fastify/middie',
    { proxy: { paths: PATHS } },
    async (gateway) => {
      const app = fastify();
      await app.register(middie);
      app.use(gateway);
      app.get('/app/hello', () => ({ hello: 'world' }));
      await app.listen({ port: 0, host: '127.0.0.1' });
      app.server.on('upgrade', gateway.upgrade);
      return { url: urlOf(app.server), ownRoutes: true, close: () => app.close() };
    },
  ],
];

/**
 * The same behaviour in every host: the gateway's own answers, a body byte for byte, a
 * streamed response streamed, WebSocket tunnels, and the host's routes beside it.
 */
describe.each(HOSTS)('mounted in %s', (_name, options, factory) => {
  let cert: TestCert;
  let upstream: WsUpstream;
  let gateway: Gateway;
  let host: Host;
  /** The upstream's open event stream, ended by the test once the client has seen its first event. */
  let events: Promise<ServerResponse>;

  beforeAll(async () => {
    cert = makeCert();
    let opened!: (res: ServerResponse) => void;
    events = new Promise((resolve) => (opened = resolve));
    upstream = await startWsUpstream((req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/v1/events') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
        return opened(res);
      }
      void readBody(req).then((body) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, length: body.length, sha256: sha256(body), proto: req.headers['x-forwarded-proto'] }));
      });
    });
    gateway = createGateway(gatewayOptions(upstream.url, options));
    host = await factory(gateway, cert);
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    await host?.close();
    await gateway?.close();
    await upstream?.close();
    cert?.cleanup();
  });

  const request = (path: string, init: Parameters<typeof testRequest>[1] = {}) => testRequest(`${host.url}${path}`, { ca: cert.cert, servername: 'localhost', ...init });

  it('answers discovery and health itself', async () => {
    expect((await request('/.well-known/cryptid')).json).toMatchObject({ server_name: 'chat.example.test' });
    expect((await request('/v1/health')).json).toMatchObject({ status: 'healthy' });
  });

  it('forwards method, path, query and a binary body byte for byte', async () => {
    const res = await request('/v1/messages?draft=1', { method: 'POST', body: BODY, headers: { 'content-type': 'application/octet-stream' } });
    expect(res.json).toMatchObject({ method: 'POST', url: '/v1/messages?draft=1', length: BODY.length, sha256: sha256(BODY) });
    expect((res.json as { proto: string }).proto).toBe(host.url.startsWith('https:') ? 'https' : 'http');
  });

  it('relays a streamed response as it comes', async () => {
    const get = host.url.startsWith('https:') ? httpsGet : httpGet;
    const res = await withDeadline(
      new Promise<IncomingMessage>((resolve, reject) => get(`${host.url}/v1/events`, { ca: cert.cert, servername: 'localhost' }, resolve).on('error', reject)),
      'response headers',
      5000,
    );
    const [first] = (await withDeadline(once(res, 'data'), 'the first event', 5000)) as [Buffer];
    expect(first.toString()).toBe('data: one\n\n');
    (await events).end('data: two\n\n');
    expect((await readBody(res)).toString()).toBe('data: two\n\n');
  });

  it('tunnels a WebSocket to the upstream', async () => {
    const ws = new WebSocket(`${host.url.replace(/^http/, 'ws')}/v1/stream`, { headers: { authorization: 'Bearer good' }, ca: cert.cert });
    await withDeadline(once(ws, 'open'), 'the WebSocket handshake', 5000);
    const echoed = nextMessage(ws);
    ws.send('through the host');
    expect((await echoed).data.toString()).toBe('through the host');
    const closed = closeOf(ws);
    ws.close(1000);
    expect((await closed).code).toBe(1000);
  });

  it('leaves the host app its own routes, or forwards every path where it has none', async () => {
    const res = await request('/app/hello');
    if (host.ownRoutes) expect(res.json).toEqual({ hello: 'world' });
    else expect(res.json).toMatchObject({ url: '/app/hello' });
  });
});
