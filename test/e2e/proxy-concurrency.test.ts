import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { withDeadline } from '../helpers/deadline';
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
    const results = await Promise.all(bodies.map((body, i) => testRequest(`${gw.url}/v1/messages?n=${i}`, { method: 'POST', body })));
    results.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.headers['x-request-url']).toBe(`/v1/messages?n=${i}`);
      expect(res.body.equals(Buffer.concat([Buffer.from(`/v1/messages?n=${i}|`), bodies[i] as Buffer]))).toBe(true);
    });
    // Every request reached the upstream exactly once.
    expect(upstream.requests.length).toBe(200);
  });

  it('answers pipelined requests in order, each with its own body, one after the other', async () => {
    const count = 6;
    const socket = connect(gw.port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const answered = new Promise<string[]>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const answers = [...received.toString('latin1').matchAll(/HTTP\/1\.1 200 OK\r\n[\s\S]*?content-length: (\d+)\r\n[\s\S]*?\r\n\r\n/gi)];
        const last = answers[count - 1];
        if (last && received.length >= (last.index ?? 0) + last[0].length + Number(last[1])) {
          resolve(answers.map((a) => received.toString('latin1').slice((a.index ?? 0) + a[0].length, (a.index ?? 0) + a[0].length + Number(a[1]))));
        }
      });
    });
    socket.write(Array.from({ length: count }, (_, i) => `POST /v1/pipelined?n=${i} HTTP/1.1\r\nHost: chat.example.test\r\nContent-Length: 5\r\n\r\nbody${i}`).join(''));
    try {
      const bodies = await withDeadline(answered, 'every pipelined answer', 5000);
      expect(bodies).toEqual(Array.from({ length: count }, (_, i) => `/v1/pipelined?n=${i}|body${i}`));
    } finally {
      socket.destroy();
    }
  });

  it('serves sequential requests from many client connections over one pooled upstream connection', async () => {
    const before = upstream.requests.length;
    // Each test request opens a fresh client connection; the upstream side stays one socket.
    for (let i = 0; i < 20; i++) await testRequest(`${gw.url}/v1/health-ish?i=${i}`);
    const sockets = new Set(upstream.requests.slice(before).map((r) => r.socket));
    expect(sockets.size).toBe(1);
  });
});
