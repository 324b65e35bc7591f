import { Agent, request } from 'node:http';
import fc from 'fast-check';
import WebSocket from 'ws';
import { FAILURES } from '../../src/http/error-status';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { pathNotReadAs, pathReadAs } from '../helpers/path-arbitraries';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

function send(url: string, method: string, path: string, agent: Agent | false = false): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { method, path, agent }, (res) => {
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
      // Read as an upstream might: `;parameters` stripped, whitespace trimmed.
      ['GET', '/federation;a/v1/x'],
      ['PUT', '/federation;jsessionid=1/v1/deliver/tx_1'],
      ['GET', '/federation%20/v1'],
      ['GET', '/%20federation/v1'],
      ['GET', '/federation%3bx/v1'],
      ['GET', '/x/..;/federation/v1'],
      ['GET', '/federation/../v1/messages'],
      ['GET', '/%EF%BD%86ederation/v1'],
    ])('answers %s %s with 403 FEDERATION_DISABLED and never forwards it', async (method, path) => {
      const before = upstream.requests.length;
      const res = await send(gw.url, method, path);
      expect(res.status).toBe(403);
      expect(JSON.parse(res.body)).toEqual({ error: 'FEDERATION_DISABLED', message: FAILURES.federationDisabled.message });
      expect(upstream.requests.length).toBe(before);
    });

    it('refuses every generated path that decodes to the federation prefix, and forwards other paths (property, through the real gateway)', async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        await fc.assert(
          // Node's parser refuses raw bytes above 0x7e in a request target (the wire carries them
          // percent-encoded) and an origin-form target starts with a slash.
          fc.asyncProperty(
            pathReadAs('federation').filter((p) => p.startsWith('/') && /^[\x21-\x7e]*$/.test(p)),
            async (path) => {
              const before = upstream.requests.length;
              const res = await send(gw.url, 'GET', path, agent);
              return res.status === 403 && upstream.requests.length === before;
            },
          ),
          { numRuns: 150 },
        );
        await fc.assert(
          fc.asyncProperty(pathNotReadAs('federation'), async (path) => {
            const res = await send(gw.url, 'GET', path, agent);
            return res.status === 200 && upstream.requests.at(-1)?.url === path;
          }),
          { numRuns: 50 },
        );
      } finally {
        agent.destroy();
      }
    });

    it('forwards paths that only look similar', async () => {
      expect(await send(gw.url, 'GET', '/federationist')).toEqual({ status: 200, body: 'forwarded' });
      expect(await send(gw.url, 'GET', '/v1/federation/x')).toEqual({ status: 200, body: 'forwarded' });
    });

    it.each(['/federation/v1/stream', '/federation;x/v1/stream', '/FEDERATION%20/v1/stream'])('refuses a WebSocket upgrade to %s with 403 on the socket', async (path) => {
      const before = upstream.requests.length;
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}${path}`);
      const status = await new Promise<number>((resolve, reject) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error('opened')));
        ws.on('error', reject);
      });
      expect(status).toBe(403);
      expect(upstream.requests.length).toBe(before);
    });
  });

  describe.each([true, false])('with federation_enabled: %s', (enabled) => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startGateway(upstream.url, { document: { federation_enabled: enabled } });
    });
    afterAll(() => gw.close());

    it.each(['/federation%00/v1', '/federation%09/v1', '/v1/messages%0d%0aX-Injected:%201', '/v1/a%2500b', '/v1/%7f', '/v1/%C2%85'])(
      'answers a path with a control character, %s, 400 BAD_REQUEST without forwarding it',
      async (path) => {
        const before = upstream.requests.length;
        const res = await send(gw.url, 'GET', path);
        expect(res.status).toBe(400);
        expect(JSON.parse(res.body)).toMatchObject({ error: 'BAD_REQUEST' });
        expect(upstream.requests.length).toBe(before);
      },
    );

    it('refuses a WebSocket upgrade to a path with a control character with 400', async () => {
      const before = upstream.requests.length;
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/v1/stream%00`);
      const status = await new Promise<number>((resolve, reject) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error('opened')));
        ws.on('error', reject);
      });
      expect(status).toBe(400);
      expect(upstream.requests.length).toBe(before);
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
