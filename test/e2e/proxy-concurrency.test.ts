import { randomBytes } from 'node:crypto';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { testRequest } from '../helpers/http-request';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

describe('concurrent traffic', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      void readBody(req).then((body) => {
        // Answer out of arrival order, so responses cannot line up by accident.
        setImmediate(() => {
          res.setHeader('x-request-url', req.url ?? '');
          res.end(Buffer.concat([Buffer.from(`${req.url}|`), body]));
        });
      });
    });
    gw = await startGateway(upstream.url);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('answers 200 concurrent requests, each with its own body', async () => {
    const bodies = Array.from({ length: 200 }, () => randomBytes(2048 + Math.floor(Math.random() * 8192)));
    const results = await Promise.all(
      bodies.map((body, i) => testRequest(`${gw.url}/v1/messages?n=${i}`, { method: 'POST', body })),
    );
    results.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.headers['x-request-url']).toBe(`/v1/messages?n=${i}`);
      expect(res.body.equals(Buffer.concat([Buffer.from(`/v1/messages?n=${i}|`), bodies[i] as Buffer]))).toBe(true);
    });
    // Every request reached the upstream exactly once.
    expect(upstream.requests.length).toBe(200);
  });

  it('serves sequential requests from many client connections over one pooled upstream connection', async () => {
    const before = upstream.requests.length;
    // Each test request opens a fresh client connection; the upstream side stays one socket.
    for (let i = 0; i < 20; i++) await testRequest(`${gw.url}/v1/health-ish?i=${i}`);
    const sockets = new Set(upstream.requests.slice(before).map((r) => r.socket));
    expect(sockets.size).toBe(1);
  });
});
