import express from 'express';
import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway } from '../../src';
import { gatewayOptions } from '../helpers/gateway';
import { untilStatus } from '../helpers/healthy-upstream';
import { testRequest } from '../helpers/http-request';
import { closeServer, listenLocal } from '../helpers/listen';
import { readBody } from '../helpers/upstream';
import { closeOf, nextMessage, openWs, startWsUpstream, type WsUpstream } from '../helpers/ws-upstream';

describe('the proxy inside an Express 5 host app', () => {
  let wsUpstream: WsUpstream;
  let gateway: Gateway;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    // One upstream for both: its HTTP side echoes the request back.
    wsUpstream = await startWsUpstream((req, res) => {
      void readBody(req).then((body) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, body: body.toString() }));
      });
    });
    gateway = createGateway(gatewayOptions(wsUpstream.url));
    const app = express();
    app.get('/app/hello', (_req, res) => {
      res.json({ hello: 'from the host app' });
    });
    app.use(gateway);
    server = createServer(app);
    server.on('upgrade', gateway.upgrade);
    base = `http://127.0.0.1:${await listenLocal(server)}`;
  });
  afterAll(async () => {
    await closeServer(server);
    await gateway.close();
    await wsUpstream.close();
  });

  it('tunnels a WebSocket upgrade that arrives before any HTTP request', async () => {
    const arrived = wsUpstream.nextConnection();
    const client = await openWs(`${base.replace('http:', 'ws:')}/v1/stream`, { headers: { authorization: 'Bearer good' } });
    await arrived;
    const echoed = nextMessage(client);
    client.send('first thing on this server');
    expect((await echoed).data.toString()).toBe('first thing on this server');
    const closed = closeOf(client);
    client.close(1000);
    expect((await closed).code).toBe(1000);
  });

  it('keeps the host app routes answering beside the gateway', async () => {
    const res = await testRequest(`${base}/app/hello`);
    expect(res.json).toEqual({ hello: 'from the host app' });
  });

  it('answers discovery itself and forwards everything else, bodies included', async () => {
    // Discovery answers 503 until the first probe has succeeded.
    await untilStatus(gateway, 'healthy');
    expect((await testRequest(`${base}/.well-known/cryptid`)).json).toMatchObject({ server_name: 'chat.example.test' });
    const res = await testRequest(`${base}/v1/messages?draft=1`, { method: 'POST', body: '{"recipient_address":"a@b"}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ method: 'POST', url: '/v1/messages?draft=1', body: '{"recipient_address":"a@b"}' });
  });
});
