import express5 from 'express';
import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway } from '../../src';
import { express4 } from '../helpers/express4';
import { gatewayOptions } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { readBody } from '../helpers/upstream';
import { closeOf, nextMessage, openWs, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

/**
 * Mounted at a sub-path (`app.use('/chat', gateway)`), the gateway still works on the URL the
 * client sent: HTTP and WebSocket reach the upstream with the same, unrewritten path.
 */
describe.each([
  ['Express 4', express4],
  ['Express 5', express5],
])('mounted under /chat in %s', (_name, express) => {
  let upstream: WsUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    upstream = await startWsUpstream((req, res) => {
      void readBody(req).then((body) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ url: req.url, body: body.toString() }));
      });
    });
    gateway = createGateway(gatewayOptions(upstream.url));
    const app = express();
    app.get('/app/hello', (_req, res) => {
      res.json({ hello: 'world' });
    });
    app.use('/chat', gateway);
    server = createServer(app);
    server.on('upgrade', gateway.upgrade);
    base = `http://127.0.0.1:${await listenLocal(server)}`;
    await untilStatus(gateway, 'healthy');
  });
  afterAll(async () => {
    await closeServer(server);
    await gateway.close();
    await upstream.close();
  });

  it('forwards HTTP requests with the mount path kept', async () => {
    const res = await testRequest(`${base}/chat/v1/messages?draft=1`, { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    expect(res.json).toEqual({ url: '/chat/v1/messages?draft=1', body: '{"a":1}' });
  });

  it('tunnels WebSocket upgrades with the same path', async () => {
    const arrived = upstream.nextConnection();
    const client = await openWs(`${base.replace('http:', 'ws:')}/chat/v1/stream?since=5`, { headers: { authorization: 'Bearer good' } });
    expect((await arrived).request.url).toBe('/chat/v1/stream?since=5');
    const echoed = nextMessage(client);
    client.send('through the sub-path');
    expect((await echoed).data.toString()).toBe('through the sub-path');
    const closed = closeOf(client);
    client.close(1000);
    await closed;
  });

  it('matches discovery on the full path: /chat/.well-known/cryptid is not discovery', async () => {
    const res = await testRequest(`${base}/chat/.well-known/cryptid`);
    expect(res.json).toEqual({ url: '/chat/.well-known/cryptid', body: '' });
  });

  it('leaves the host app routes outside the mount alone', async () => {
    expect((await testRequest(`${base}/app/hello`)).json).toEqual({ hello: 'world' });
  });
});
