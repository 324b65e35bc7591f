import { createHash, randomBytes } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { readBody, startUpstream, type TestUpstream } from '../helpers/upstream';

const MiB = 1024 * 1024;
const BIG = 8 * MiB;

const BLOCK = 64 * 1024;

/** Deterministic bytes, different in every block, so both ends can hash the 8 MiB without holding it twice. */
function block(i: number): Buffer {
  return createHash('shake256', { outputLength: BLOCK }).update(String(i)).digest();
}

function send(url: string, options: { method?: string; path: string; headers?: Record<string, string>; chunks?: Buffer[] }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    // `path` as an option: a URL string would have its dot segments resolved by the client.
    const req = request(url, { path: options.path, method: options.method ?? 'GET', headers: options.headers, agent: false }, resolve);
    req.on('error', reject);
    for (const chunk of options.chunks ?? []) req.write(chunk);
    req.end();
  });
}

describe('proxied bodies and statuses', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      if (req.url === '/echo') {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-seen-length': req.headers['content-length'] ?? 'none' });
        req.pipe(res);
      } else if (req.url === '/big') {
        // Streamed with backpressure: never more than one block ahead of the socket.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        let i = 0;
        const pump = (): void => {
          while (i < BIG / BLOCK) {
            if (!res.write(block(i++))) return void res.once('drain', pump);
          }
          res.end();
        };
        pump();
      } else if (req.url === '/missing') {
        res.writeHead(404, { 'content-type': 'application/json', 'x-upstream': 'yes' });
        res.end('{"error":"NOT_HERE","message":"upstream says no"}');
      } else if (req.url === '/broken') {
        res.writeHead(500, 'Custom Reason', { 'content-type': 'text/plain' });
        res.end('upstream failure text');
      } else {
        req.resume();
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, url: req.url }));
      }
    });
    gw = await startGateway(upstream.url);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  it('carries a MiB of random bytes with Content-Length both ways, byte for byte', async () => {
    const payload = randomBytes(MiB);
    const res = await send(gw.url, { method: 'POST', path: '/echo', headers: { 'content-length': String(MiB) }, chunks: [payload] });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-seen-length']).toBe(String(MiB));
    expect((await readBody(res)).equals(payload)).toBe(true);
  });

  it('carries a chunked MiB of random bytes both ways, byte for byte', async () => {
    const payload = randomBytes(MiB);
    const chunks = Array.from({ length: 64 }, (_, i) => payload.subarray(i * 16384, (i + 1) * 16384));
    const res = await send(gw.url, { method: 'POST', path: '/echo', headers: { 'transfer-encoding': 'chunked' }, chunks });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-seen-length']).toBe('none');
    expect((await readBody(res)).equals(payload)).toBe(true);
  });

  it('streams an 8 MiB response intact', async () => {
    const res = await send(gw.url, { path: '/big' });
    const expected = createHash('sha256');
    for (let i = 0; i < BIG / BLOCK; i++) expected.update(block(i));
    const got = createHash('sha256');
    let length = 0;
    for await (const chunk of res) {
      got.update(chunk as Buffer);
      length += (chunk as Buffer).length;
    }
    expect(length).toBe(BIG);
    expect(got.digest('hex')).toBe(expected.digest('hex'));
  });

  it('forwards method, path and query exactly as received', async () => {
    const path = '/v1/infopackages/a%2Fb/../C%2e%2e?x=1&y=%20&x=2&empty=';
    const res = await send(gw.url, { method: 'DELETE', path });
    expect(JSON.parse((await readBody(res)).toString())).toEqual({ method: 'DELETE', url: path });
  });

  it('relays upstream error statuses, reasons, headers and bodies untouched', async () => {
    const missing = await send(gw.url, { path: '/missing' });
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['x-upstream']).toBe('yes');
    expect((await readBody(missing)).toString()).toBe('{"error":"NOT_HERE","message":"upstream says no"}');

    const broken = await send(gw.url, { path: '/broken' });
    expect(broken.statusCode).toBe(500);
    expect(broken.statusMessage).toBe('Custom Reason');
    expect((await readBody(broken)).toString()).toBe('upstream failure text');
  });

  it('answers HEAD with the upstream headers and no body', async () => {
    const res = await send(gw.url, { method: 'HEAD', path: '/missing' });
    expect(res.statusCode).toBe(404);
    expect((await readBody(res)).length).toBe(0);
  });

  it('honours Expect: 100-continue: the client is told to go on, then its body arrives upstream', async () => {
    const payload = randomBytes(4096);
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(`${gw.url}/echo`, {
        method: 'POST',
        agent: false,
        headers: { expect: '100-continue', 'content-length': String(payload.length) },
      });
      req.on('error', reject);
      req.on('response', resolve);
      req.on('continue', () => req.end(payload));
    });
    expect(res.statusCode).toBe(200);
    expect((await readBody(res)).equals(payload)).toBe(true);
  });

  it('streams a DELETE with a chunked body as a body, never as a second request', async () => {
    const payload = Buffer.from('GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n');
    const seen = upstream.requests.length;
    const res = await send(gw.url, { method: 'DELETE', path: '/echo', headers: { 'transfer-encoding': 'chunked' }, chunks: [payload] });
    expect((await readBody(res)).equals(payload)).toBe(true);
    // One more request upstream, and it is the DELETE.
    expect(upstream.requests.length).toBe(seen + 1);
    expect(upstream.requests.at(-1)?.method).toBe('DELETE');
  });
});
