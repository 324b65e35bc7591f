import { request } from 'node:http';
import WebSocket from 'ws';
import { FAILURES } from '../../src/http/error-status';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

function send(url: string, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { method, path, agent: false }, (res) => {
      void readBody(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b.toString() }), reject);
    })
      .on('error', reject)
      .end();
  });
}

describe('the federation guard', () => {
  let upstream: TestUpstream;
  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      res.end('forwarded');
    });
  });
  afterAll(() => upstream.close());

  describe('with federation_enabled: false', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway(upstream.url, { document: { federation_enabled: false } });
    });
    afterAll(() => gw.close());

    it.each([
      ['PUT', '/federation/v1/deliver/tx_1'],
      ['GET', '/federation/v1/anything?x=1'],
      ['GET', '/federation'],
      ['GET', '/FEDERATION/v1/deliver/tx_1'],
      ['GET', '/v1/../federation/v1/deliver/tx_1'],
      ['GET', '/%66ederation/v1/deliver/tx_1'],
      ['GET', '//federation/v1/deliver/tx_1'],
    ])('answers %s %s with 403 FEDERATION_DISABLED and never forwards it', async (method, path) => {
      const before = upstream.requests.length;
      const res = await send(gw.url, method, path);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toEqual({ error: 'FEDERATION_DISABLED', message: FAILURES.federationDisabled.message });
      expect(upstream.requests.length).toBe(before);
    });

    it('forwards paths that only look similar', async () => {
      expect(await send(gw.url, 'GET', '/federationist')).toEqual({ status: 200, body: 'forwarded' });
      expect(await send(gw.url, 'GET', '/v1/federation/x')).toEqual({ status: 200, body: 'forwarded' });
    });

    it('refuses a WebSocket upgrade under /federation/ with 403 on the socket', async () => {
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/federation/v1/stream`);
      const status = await new Promise<number>((resolve, reject) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error('opened')));
        ws.on('error', reject);
      });
      expect(status).toBe(403);
    });
  });

  describe('with federation_enabled: true (the default)', () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway(upstream.url);
    });
    afterAll(() => gw.close());

    it('forwards federation requests to the upstream', async () => {
      expect(await send(gw.url, 'PUT', '/federation/v1/deliver/tx_1')).toEqual({ status: 200, body: 'forwarded' });
    });
  });
});
