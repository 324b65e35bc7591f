import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { foldRawHeaders } from '../../../src/proxy/fold-headers';
import { createHttpUpstream, type ErrorSide, type HttpCall, type HttpUpstream, type UpstreamRequest, type UpstreamResponse } from '../../../src/proxy/http-upstream';
import { classifyUpstreamError, UpstreamTimeoutError } from '../../../src/proxy/failure';
import { relayResponseHeaders, withoutHopByHop } from '../../../src/proxy/headers';
import { closeServer, listenLocal } from '../../helpers/listen';

/** An HttpCall that records what the upstream tells it; `onRequestHook` may act on the upstream request. */
class RecordingCall implements HttpCall {
  upstreamReq: UpstreamRequest | undefined;
  response: UpstreamResponse | undefined;
  readonly errors: { err: Error; side: ErrorSide; sync: boolean }[] = [];
  private inWeb = true;
  constructor(
    readonly target: string,
    readonly headers: OutgoingHttpHeaders,
    readonly body: Readable | null,
    private readonly onRequestHook?: (r: UpstreamRequest) => void,
  ) {}
  leaveWeb(): void {
    this.inWeb = false;
  }
  onRequest(upstreamReq: UpstreamRequest): void {
    this.upstreamReq = upstreamReq;
    this.onRequestHook?.(upstreamReq);
  }
  progressed = 0;
  onProgress(): void {
    this.progressed++;
  }
  onResponse(upstreamRes: UpstreamResponse): OutgoingHttpHeaders {
    this.response = upstreamRes;
    return relayResponseHeaders(upstreamRes.headers);
  }
  onError(err: Error, side: ErrorSide): void {
    this.errors.push({ err, side, sync: this.inWeb });
  }
}

interface Front {
  url: string;
  calls: RecordingCall[];
  server: Server;
}

/** A front server that hands every request to the upstream, answering 502 itself on an upstream error. */
async function front(engine: HttpUpstream, hook?: (call: RecordingCall, req: IncomingMessage) => void): Promise<Front> {
  const calls: RecordingCall[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const headers: OutgoingHttpHeaders = withoutHopByHop(req.headers);
    const chunked = req.headers['transfer-encoding'] !== undefined;
    if (chunked) headers['transfer-encoding'] = 'chunked';
    const hasBody = chunked || Number(req.headers['content-length'] ?? 0) > 0;
    const call = new RecordingCall(req.url ?? '/', headers, hasBody ? req : null);
    calls.push(call);
    const onError = call.onError.bind(call);
    call.onError = (err, side) => {
      onError(err, side);
      if (!res.headersSent) res.writeHead(502).end(String((err as { code?: string }).code));
      else res.destroy();
    };
    hook?.(call, req);
    engine.forward(req, res, call);
    call.leaveWeb();
  });
  const port = await listenLocal(server);
  return { url: `http://127.0.0.1:${port}`, calls, server };
}

interface Answer {
  status: number;
  statusMessage: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

function send(url: string, options: { method?: string; headers?: OutgoingHttpHeaders; body?: Buffer | Buffer[]; agent?: false } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // The path as written, not normalised by the URL parser.
    const [, origin, path] = /^(https?:\/\/[^/]+)(.*)$/.exec(url) ?? [];
    const req = request(origin as string, { path: path || '/', method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusMessage: res.statusMessage ?? '', headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const body = options.body;
    if (Array.isArray(body)) {
      for (const part of body) req.write(part);
      req.end();
    } else req.end(body);
  });
}

describe('foldRawHeaders', () => {
  it('folds repeated headers as node:http does', () => {
    const raw = ['Content-Type', 'a/b', 'content-type', 'c/d', 'Set-Cookie', 'a=1', 'set-cookie', 'b=2', 'X-Multi', '1', 'x-multi', '2', 'Cookie', 'c=1', 'cookie', 'd=2'].map(
      (s) => Buffer.from(s),
    );
    expect(foldRawHeaders(raw)).toEqual({
      'content-type': 'a/b',
      'set-cookie': ['a=1', 'b=2'],
      'x-multi': '1, 2',
      cookie: 'c=1; d=2',
    });
  });

  it('keeps latin1 bytes as node:http does', () => {
    expect(foldRawHeaders([Buffer.from('x-l'), Buffer.from([0x63, 0xe9])])).toEqual({ 'x-l': 'c\u00e9' });
  });
});

// Both engines (`proxy.engine`) are held to the same behaviour.
describe.each(['net', 'undici'] as const)('the HTTP upstream (%s)', (engineName) => {
  let upstream: Server;
  let upstreamUrl: URL;
  let seen: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }[];
  let handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
  let engine: HttpUpstream;
  let gw: Front | undefined;

  beforeEach(async () => {
    seen = [];
    handler = (_req, res) => res.end('ok');
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        handler(req, res, body);
      });
    });
    const port = await listenLocal(upstream);
    upstreamUrl = new URL(`http://127.0.0.1:${port}`);
    engine = createHttpUpstream(upstreamUrl, 512, engineName);
  });

  afterEach(async () => {
    if (gw) await closeServer(gw.server);
    gw = undefined;
    engine.close();
    await closeServer(upstream);
  });

  it('relays status, reason phrase, headers and body, and sends the caller’s headers and raw target', async () => {
    handler = (_req, res) => {
      res.writeHead(203, 'Quite Fine', [
        ['X-A', '1'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
      ]);
      res.end('hello');
    };
    gw = await front(engine);
    const answer = await send(`${gw.url}/a/../b?q=%2e%2e`, { headers: { 'x-custom': 'v', host: 'public.example' } });
    expect(answer.status).toBe(203);
    expect(answer.statusMessage).toBe('Quite Fine');
    expect(answer.headers['x-a']).toBe('1');
    expect(answer.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(answer.body.toString()).toBe('hello');
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/a/../b?q=%2e%2e' });
    expect(seen[0]?.headers).toMatchObject({ 'x-custom': 'v', host: 'public.example' });
    expect(gw.calls[0]?.response).toMatchObject({ statusCode: 203, statusMessage: 'Quite Fine' });
  });

  it('streams a 1 MiB Content-Length body and a chunked body byte-exact', async () => {
    handler = (_req, res, body) => res.end(body);
    gw = await front(engine);
    const payload = Buffer.alloc(1 << 20);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const sized = await send(`${gw.url}/up`, { method: 'PUT', headers: { 'content-length': payload.length }, body: payload });
    expect(sized.body.equals(payload)).toBe(true);
    expect(seen[0]?.headers['content-length']).toBe(String(payload.length));
    const chunked = await send(`${gw.url}/up`, { method: 'POST', body: [payload.subarray(0, 1000), payload.subarray(1000)] });
    expect(chunked.body.equals(payload)).toBe(true);
    expect(seen[1]?.headers['transfer-encoding']).toBe('chunked');
    expect(seen[1]?.headers['content-length']).toBeUndefined();
  });

  it('does not follow redirects and does not relay 1xx responses', async () => {
    handler = (req, res) => {
      if (req.url === '/hints') {
        res.writeEarlyHints({ link: '</a.css>; rel=preload' });
        res.end('final');
        return;
      }
      res.writeHead(302, { location: '/elsewhere' }).end();
    };
    gw = await front(engine);
    const redirect = await send(`${gw.url}/here`);
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe('/elsewhere');
    expect(seen.map((s) => s.url)).toEqual(['/here']);
    const hints = await send(`${gw.url}/hints`);
    expect(hints.status).toBe(200);
    expect(hints.body.toString()).toBe('final');
  });

  it.each(['POST', 'GET'])('never retries a %s whose reused keep-alive connection breaks', async (method) => {
    let requests = 0;
    handler = (_req, res) => {
      requests += 1;
      if (requests === 1) res.end('first');
      else res.socket?.destroy();
    };
    gw = await front(engine);
    expect((await send(`${gw.url}/one`, { method, headers: { 'content-length': 2 }, body: Buffer.from('hi') })).body.toString()).toBe('first');
    const second = await send(`${gw.url}/two`, { method, headers: { 'content-length': 2 }, body: Buffer.from('hi') });
    expect(second.status).toBe(502);
    expect(requests).toBe(2);
    const { err, side } = gw.calls[1]?.errors[0] ?? {};
    expect(side).toBe('upstream');
    expect(classifyUpstreamError(err)).toBe('reset');
  });

  it('reports a refused connection as ECONNREFUSED', async () => {
    await closeServer(upstream);
    gw = await front(engine);
    const answer = await send(`${gw.url}/`);
    expect(answer.status).toBe(502);
    expect(classifyUpstreamError(gw.calls[0]?.errors[0]?.err)).toBe('refused');
  });

  it('destroyed with the caller’s timeout error, reports exactly that error, on a later tick, and aborts the upstream request', async () => {
    let upstreamSocket: Socket | undefined;
    handler = (req) => {
      upstreamSocket = req.socket;
    };
    gw = await front(engine);
    const pending = send(`${gw.url}/slow`);
    await new Promise<void>((resolve) => upstream.once('request', () => resolve()));
    await new Promise((resolve) => setImmediate(resolve));
    const call = gw.calls[0] as RecordingCall;
    const timeout = new UpstreamTimeoutError(10);
    call.upstreamReq?.destroy(timeout);
    expect(call.errors).toHaveLength(0);
    expect((await pending).status).toBe(502);
    expect(call.errors).toEqual([{ err: timeout, side: 'upstream', sync: false }]);
    expect(classifyUpstreamError(call.errors[0]?.err)).toBe('timeout');
    if (upstreamSocket && !upstreamSocket.destroyed) await once(upstreamSocket, 'close');
  });

  it('aborts the upstream request when the client leaves mid-response', async () => {
    let upstreamRes: ServerResponse | undefined;
    handler = (_req, res) => {
      upstreamRes = res;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
    };
    gw = await front(engine, (call, req) => {
      req.socket.once('close', () => call.upstreamReq?.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      const req = request(`${gw!.url}/stream`, { agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => undefined);
      req.on('close', () => undefined);
      req.once('error', reject);
      req.end();
    });
    await once(upstreamRes as ServerResponse, 'close');
    expect((upstreamRes as ServerResponse).writableFinished).toBe(false);
  });

  it('holds the upstream back while the client does not read (backpressure)', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    let stalled = false;
    handler = (_req, res) => {
      const pump = (): void => {
        while (written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) {
            stalled = true;
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    };
    gw = await front(engine);
    let clientRes: IncomingMessage | undefined;
    const req = request(`${gw.url}/big`, { agent: false }, (res) => {
      clientRes = res;
      res.pause();
    });
    req.on('error', () => undefined);
    req.end();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(stalled).toBe(true);
    // The upstream stopped far short of its 64 MiB: the kernel buffers and a few highWaterMarks, not the whole body.
    expect(written).toBeLessThan(16 * 1024 * 1024);
    clientRes?.destroy();
    req.destroy();
  });

  it('reports pool sockets for metrics: in use while a request is open, free after it', async () => {
    let release: (() => void) | undefined;
    handler = (_req, res) => {
      release = () => res.end('late');
    };
    gw = await front(engine);
    const answer = send(`${gw.url}/`);
    while (release === undefined) await new Promise((resolve) => setImmediate(resolve));
    expect([engine.stats.inUse(), engine.stats.free()]).toEqual([1, 0]);
    release();
    await answer;
    await new Promise((resolve) => setImmediate(resolve));
    expect([engine.stats.inUse(), engine.stats.free()]).toEqual([0, 1]);
  });
});
