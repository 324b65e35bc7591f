import express from 'express';
import { createServer, type Server } from 'node:http';
import { createGateway, type Gateway, type GatewayOptions } from '../../src';
import { closeServer, listenLocal } from '../helpers/listen';
import { testRequest } from '../helpers/http-request';
import { startHealthyUpstream, untilStatus, type HealthyUpstream } from '../helpers/healthy-upstream';

describe('mounted in an Express 5 app', () => {
  let gateway: Gateway;
  let server: Server;
  let base: string;
  let upstream: HealthyUpstream;

  beforeAll(async () => {
    upstream = await startHealthyUpstream();
    // The options typed as users will write them.
    const options: GatewayOptions = {
      upstream: upstream.url,
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: `sha256:${'f'.repeat(64)}` } },
      logLevel: 'silent',
    };
    gateway = createGateway(options);
    const app = express();
    app.get('/app/hello', (_req, res) => {
      res.json({ hello: 'world' });
    });
    app.use(gateway);
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

  it('keeps the host app routes working beside the gateway', async () => {
    const res = await testRequest(`${base}/app/hello`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ hello: 'world' });
  });

  it('answers discovery itself', async () => {
    const res = await testRequest(`${base}/.well-known/cryptid`);
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ server_name: 'chat.example.com' });
    expect(res.headers['cache-control']).toBe('public, max-age=3600');
  });

  it('throws a ConfigError listing every problem when the options are wrong', () => {
    expect(() => createGateway({ upstream: 'nope', discovery: { document: { server_name: 'BAD' } } } as GatewayOptions)).toThrow(/invalid configuration \(3 problems\)/);
  });
});
