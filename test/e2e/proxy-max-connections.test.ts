import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { request, type ClientRequest } from 'node:http';
import { pollUntil, withDeadline } from '../helpers/deadline';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

/** A slow upload: headers and a first chunk of a 1,000-byte body, the rest only when `finish()` is called. */
interface Upload {
  readonly req: ClientRequest;
  readonly answer: Promise<{ status: number; body: string }>;
  finish(): void;
}

function slowUpload(url: string, path: string): Upload {
  const req = request(`${url}${path}`, { method: 'POST', agent: false, headers: { 'content-length': '1000' } });
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => void readBody(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b.toString() }), reject));
    req.on('error', reject);
  });
  answer.catch(() => undefined);
  req.write(Buffer.alloc(10, 0x61));
  return { req, answer, finish: () => req.end(Buffer.alloc(990, 0x61)) };
}

describe('proxy.maxConnections', () => {
  let upstream: TestUpstream;
  /** Upstream sockets that carried a proxied request, and those still open. */
  const sockets = new Set<Socket>();
  const open = new Set<Socket>();

  beforeAll(async () => {
    upstream = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      if (!sockets.has(req.socket)) {
        sockets.add(req.socket);
        open.add(req.socket);
        req.socket.once('close', () => open.delete(req.socket));
      }
      // Headers at once, so the gateway's clock stops for the uploads that got a connection;
      // the body once the whole upload is in. An upload the gateway aborts just ends here.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      readBody(req).then(
        () => res.end(JSON.stringify({ port: req.socket.remotePort })),
        () => undefined,
      );
    });
    upstream.server.keepAliveTimeout = 60_000;
  });
  afterAll(() => upstream.close());
  afterEach(() => {
    sockets.clear();
  });

  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
  });

  it('holds at most maxConnections upstream connections; requests beyond wait and get 504 after timeoutMs', async () => {
    gw = await startGateway(upstream.url, { proxy: { maxConnections: 3, timeoutMs: 1000 } });
    const before = upstream.requests.length;
    const uploads = Array.from({ length: 6 }, (_, i) => slowUpload(gw!.url, `/v1/upload-${i}`));
    await withDeadline(
      pollUntil(() => upstream.requests.length - before >= 3, 'arrivals', 5000),
      'three uploads at the upstream',
      5000,
    );
    // The three beyond the cap never got a connection: their clock ran out in the queue.
    const answers = await withDeadline(Promise.all(uploads.slice(3).map((u) => u.answer)), 'answers', 10_000);
    expect(answers.map((a) => a.status)).toEqual([504, 504, 504]);
    expect(upstream.requests.length - before).toBe(3);
    expect(sockets.size).toBe(3);
    for (const u of uploads) u.req.destroy();
  });

  it('hands a freed connection to the request waiting for one', async () => {
    gw = await startGateway(upstream.url, { proxy: { maxConnections: 2, timeoutMs: 10_000 } });
    const before = upstream.requests.length;
    const uploads = Array.from({ length: 3 }, (_, i) => slowUpload(gw!.url, `/v1/wait-${i}`));
    await withDeadline(
      pollUntil(() => upstream.requests.length - before >= 2, 'arrivals', 5000),
      'two uploads at the upstream',
      5000,
    );
    expect(upstream.requests.length - before).toBe(2);
    uploads[0]!.finish();
    expect((await withDeadline(uploads[0]!.answer, 'first answer', 5000)).status).toBe(200);
    await withDeadline(
      pollUntil(() => upstream.requests.length - before >= 3, 'third arrival', 5000),
      'the waiting upload at the upstream',
      5000,
    );
    uploads[1]!.finish();
    uploads[2]!.finish();
    const [second, third] = await withDeadline(Promise.all([uploads[1]!.answer, uploads[2]!.answer]), 'answers', 5000);
    expect([second.status, third.status]).toEqual([200, 200]);
    expect(sockets.size).toBe(2);
  });

  it('drops a waiting request whose client left without spending a pooled connection on it', async () => {
    gw = await startGateway(upstream.url, { proxy: { maxConnections: 1, timeoutMs: 10_000 } });
    const before = upstream.requests.length;
    const holder = slowUpload(gw.url, '/v1/holder');
    await withDeadline(
      pollUntil(() => upstream.requests.length - before >= 1, 'arrival', 5000),
      'the holder at the upstream',
      5000,
    );
    const [pooled] = [...open].filter((s) => sockets.has(s));
    const received = new Promise<void>((resolve) => gw!.server.on('request', (req: IncomingMessage) => req.url === '/v1/leaver' && resolve()));
    const leaver = slowUpload(gw.url, '/v1/leaver');
    // Once the gateway has the leaver's request (queued behind the holder), its client goes away.
    await withDeadline(received, 'the leaver at the gateway', 5000);
    leaver.req.destroy();
    holder.finish();
    const first = await withDeadline(holder.answer, 'holder answer', 5000);
    const next = await withDeadline(
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        request(`${gw!.url}/v1/next`, { method: 'POST', agent: false, headers: { 'content-length': '0' } }, (res) => {
          void readBody(res).then((b) => resolve({ status: res.statusCode ?? 0, body: b.toString() }), reject);
        })
          .on('error', reject)
          .end();
      }),
      'next answer',
      5000,
    );
    expect([first.status, next.status]).toEqual([200, 200]);
    // The next request rode the same pooled connection: the abandoned one did not cost it.
    expect(JSON.parse(next.body)).toEqual(JSON.parse(first.body));
    expect(open.has(pooled!)).toBe(true);
    expect(upstream.requests.some((r) => r.url === '/v1/leaver')).toBe(false);
  });
});
