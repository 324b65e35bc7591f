import { spawn, type ChildProcess } from 'node:child_process';
import express from 'express';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { createGateway, type Gateway } from '../../src';
import { resolveConfig } from '../../src/config/resolve';
import { GatewayCore, wrapGateway } from '../../src/gateway';
import { FAILURES } from '../../src/http/error-status';
import { startByteLoggingUpstream, type ByteLoggingUpstream } from '../helpers/byte-logging-upstream';
import { makeCert, type TestCert } from '../helpers/certs';
import { pollUntil, waitFor, withDeadline } from '../helpers/deadline';
import { gatewayOptions, RecordingObserver, startGateway, type TestGateway } from '../helpers/gateway';
import { testRequest, type TestResponse } from '../helpers/http-request';
import { untilStatus } from '../helpers/healthy-upstream';
import { closeServer, listenLocal } from '../helpers/listen';
import { captureLog } from '../helpers/log-capture';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text';
import { rawExchange } from '../helpers/raw-http';
import { answerProbe, PROBE_PATH, readBody, startRawUpstream, type RawUpstream } from '../helpers/upstream';

/** One request as the scripted upstream read it off a connection. */
interface ReadRequest {
  readonly method: string;
  readonly target: string;
  /** Request line and header section, without the empty line. */
  readonly head: string;
  readonly body: Buffer;
  readonly socket: Socket;
  /** Which accepted connection it came on (0 for the first; probes not counted). */
  readonly connection: number;
  /** Which request it is, over all connections (0 for the first). */
  readonly index: number;
}

/** A raw upstream that reads whole requests and lets the test write the answer's bytes itself. */
interface ScriptedUpstream extends RawUpstream {
  readonly requests: ReadRequest[];
  /** Resolves with request #`index` (over all connections) once it has been read. */
  request(index: number): Promise<ReadRequest>;
}

/** The end of a chunked body starting at `from` in `buf` (no trailers: the gateway sends none), or -1 while it is incomplete. */
function chunkedEnd(buf: Buffer, from: number, body: Buffer[]): number {
  let at = from;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd < 0) return -1;
    const size = parseInt(buf.toString('latin1', at, lineEnd), 16);
    if (size === 0) return buf.length >= lineEnd + 4 ? lineEnd + 4 : -1;
    if (buf.length < lineEnd + 2 + size + 2) return -1;
    body.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

/**
 * Starts a raw upstream that reads each request (head, then a Content-Length or chunked
 * body) and calls `answer` with it: the answer's bytes are the test's. With `beforeBody`,
 * `answer` is called once the head is in, and the rest of that connection's bytes are
 * read and dropped (an upstream that answers without waiting for the upload).
 */
async function scriptedUpstream(answer: (request: ReadRequest) => void, options: { beforeBody?: boolean } = {}): Promise<ScriptedUpstream> {
  const requests: ReadRequest[] = [];
  const waiting = new Map<number, (request: ReadRequest) => void>();
  let accepted = 0;
  const raw = await startRawUpstream((socket) => {
    const connection = accepted++;
    let buf = Buffer.alloc(0);
    let ignoring = false;
    socket.on('data', (chunk: Buffer) => {
      if (ignoring) return;
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const [method = '', target = ''] = head.split(' ');
        const declared = /\r\ncontent-length: *(\d+)/i.exec(head);
        const chunks: Buffer[] = [];
        let used = end + 4;
        if (options.beforeBody) ignoring = true;
        else if (declared) {
          used += Number(declared[1]);
          if (buf.length < used) return;
          chunks.push(buf.subarray(end + 4, used));
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          used = chunkedEnd(buf, end + 4, chunks);
          if (used < 0) return;
        }
        const read: ReadRequest = { method, target, head, body: Buffer.concat(chunks), socket, connection, index: requests.length };
        buf = buf.subarray(used);
        requests.push(read);
        waiting.get(read.index)?.(read);
        waiting.delete(read.index);
        answer(read);
        if (ignoring) return;
      }
    });
  });
  return {
    url: raw.url,
    port: raw.port,
    connections: raw.connections,
    get probes() {
      return raw.probes;
    },
    nextConnection: raw.nextConnection,
    close: raw.close,
    requests,
    request: (index: number) =>
      waitFor<ReadRequest>(
        () => `request #${index} at the upstream (${requests.length} read so far)`,
        (done) => {
          const read = requests[index];
          if (read !== undefined) return done(read);
          waiting.set(index, done);
          return () => waiting.delete(index);
        },
      ),
  };
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';

/** Resolves once `socket` has closed (at once if it already has). */
function closed(socket: Socket, what = 'the upstream connection to close'): Promise<void> {
  if (socket.closed) return Promise.resolve();
  return withDeadline(
    once(socket, 'close').then(() => undefined),
    what,
  );
}

/** The gateway's own 502: the protocol's error shape, nothing of the upstream in it. */
function expectUpstreamUnavailable(res: { status: number; json: unknown }): void {
  const row = FAILURES.upstreamUnavailable;
  expect(res.status).toBe(row.status);
  expect(res.json).toEqual({ error: row.error, message: row.message, retry_after: row.retryAfter });
}

/** The gateway's 500 for a request header a middleware made unsendable. */
function expectHeaderNotForwardable(res: { status: number; json: unknown }): void {
  const row = FAILURES.headerNotForwardable;
  expect(res.status).toBe(row.status);
  expect(res.json).toEqual({ error: row.error, message: row.message });
}

/** A request from node's own client whose body goes out in `parts` (more than one: chunked). */
function send(url: string, options: { method?: string; headers?: OutgoingHttpHeaders; parts?: Buffer[] } = {}): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: undefined, peerCertificateRaw: undefined }), reject);
    });
    req.on('error', reject);
    for (const part of options.parts ?? []) req.write(part);
    req.end();
  });
}

/** Bytes that are not text, so that a byte-exact relay is told from a re-encoded one. */
function payload(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('upstream response framing (the default net engine)', () => {
  const started: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0).reverse()) await s.close();
  });

  async function scripted(answer: (request: ReadRequest) => void, options?: { beforeBody?: boolean }): Promise<ScriptedUpstream> {
    const upstream = await scriptedUpstream(answer, options);
    started.push(upstream);
    return upstream;
  }

  async function gatewayFor(upstream: { url: string }, observer?: RecordingObserver): Promise<TestGateway> {
    const gw = await startGateway(upstream.url, { proxy: { timeoutMs: 5000 } }, observer ? { proxyObserver: observer } : undefined);
    expect(gw.gateway.config.proxy.engine).toBe('net');
    started.push(gw);
    return gw;
  }

  describe('an answer that is not HTTP as RFC 9112 frames it', () => {
    it.each([
      ['conflicting Content-Length fields', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!'],
      ['a Content-Length list that disagrees', 'HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\nok!'],
      ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
      ['chunked before another coding', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\nok\r\n0\r\n\r\n'],
      ['an obs-folded header field', 'HTTP/1.1 200 OK\r\nX-Folded: one\r\n two\r\nContent-Length: 2\r\n\r\nok'],
      ['a space before a colon', 'HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok'],
      ['a control byte in a header value', 'HTTP/1.1 200 OK\r\nX-Bell: a\x07b\r\nContent-Length: 2\r\n\r\nok'],
      ['a status line ended by a bare LF', 'HTTP/1.1 200 OK\nContent-Length: 2\r\n\r\nok'],
      ['an unsolicited 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'],
      ['a head over 16 KiB', `HTTP/1.1 200 OK\r\nX-Fill: ${'a'.repeat(17 * 1024)}\r\nContent-Length: 2\r\n\r\nok`],
    ])('%s: the client gets the gateway’s 502, the connection is closed and never reused', async (_name, bad) => {
      const upstream = await scripted((r) => r.socket.write(r.index === 0 ? Buffer.from(bad, 'latin1') : OK));
      const observer = new RecordingObserver();
      const gw = await gatewayFor(upstream, observer);
      const first = await testRequest(`${gw.url}/v1/framing`);
      expectUpstreamUnavailable(first);
      expect(first.body.toString()).not.toContain('ok');
      await closed((await upstream.request(0)).socket);
      await observer.until((o) => o.outcomes.length === 1);
      expect(observer.outcomes[0]).toMatchObject({ status: 502, failure: 'protocol' });
      const second = await testRequest(`${gw.url}/v1/framing`);
      expect(second.status).toBe(200);
      expect(second.body.toString()).toBe('ok');
      expect((await upstream.request(1)).connection).toBe(1);
      expect(upstream.connections).toHaveLength(2);
    });

    it.each([
      ['an invalid chunk size', '2\r\nok\r\nzz\r\n'],
      ['chunk data longer than its size', '2\r\nok!\r\n0\r\n\r\n'],
    ])('%s after a valid head: the response is cut short (its head may be out already), the connection closed and never reused', async (_name, badBody) => {
      const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
      const upstream = await scripted((r) => r.socket.write(r.index === 0 ? head + badBody : OK));
      const observer = new RecordingObserver();
      const gw = await gatewayFor(upstream, observer);
      const first = await rawExchange(gw.port, 'GET /v1/framing HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
      // The head reached the gateway with the bad chunk, in one read: it was handed to the
      // client's response before the chunk was parsed, so no 502 can follow it. Whatever of
      // it got out (the net engine loses even the head: the client gets no byte at all), the
      // client sees its connection closed before a complete answer.
      expect(first.closed).toBe(true);
      expect([0, 200]).toContain(first.status);
      expect(first.raw).not.toMatch(/\r\n0\r\n\r\n$/);
      await closed((await upstream.request(0)).socket);
      await observer.until((o) => o.outcomes.length === 1);
      expect(observer.outcomes[0]?.failure).toBe('reset');
      const second = await testRequest(`${gw.url}/v1/framing`);
      expect(second.body.toString()).toBe('ok');
      expect(upstream.connections).toHaveLength(2);
    });

    it('an invalid chunk after the client has the head and part of the body: the client’s response is cut short', async () => {
      let badChunk: (() => void) | undefined;
      const upstream = await scripted((r) => {
        if (r.index > 0) return void r.socket.write(OK);
        r.socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nfirst\r\n');
        badChunk = () => r.socket.write('5\r\nsecondX\r\n0\r\n\r\n');
      });
      const gw = await gatewayFor(upstream);
      const outcome = await new Promise<{ status: number; got: string; error: string | undefined }>((resolve) => {
        let got = '';
        const req = request(`${gw.url}/v1/framing`, { agent: false }, (res) => {
          res.on('data', (c: Buffer) => {
            got += c.toString();
            badChunk?.();
            badChunk = undefined;
          });
          res.on('error', (err: NodeJS.ErrnoException) => resolve({ status: res.statusCode ?? 0, got, error: err.code ?? err.message }));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, got, error: undefined }));
          res.on('close', () => resolve({ status: res.statusCode ?? 0, got, error: res.complete ? undefined : 'closed before the end' }));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve({ status: 0, got, error: err.code ?? err.message }));
        req.end();
      });
      expect(outcome.status).toBe(200);
      expect(outcome.got).toBe('first');
      expect(outcome.error).toBeDefined();
      await closed((await upstream.request(0)).socket);
      expect((await testRequest(`${gw.url}/v1/framing`)).body.toString()).toBe('ok');
      expect(upstream.connections).toHaveLength(2);
    });
  });

  describe('bytes after the end of an answer', () => {
    it('in the same read: the client gets the first answer, the connection is closed, the next request goes on a new one', async () => {
      const upstream = await scripted((r) =>
        r.socket.write(r.index === 0 ? `${OK}HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!` : 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond'),
      );
      const gw = await gatewayFor(upstream);
      const first = await testRequest(`${gw.url}/v1/one`);
      expect(first.status).toBe(200);
      expect(first.body.toString()).toBe('ok');
      await closed((await upstream.request(0)).socket);
      const second = await testRequest(`${gw.url}/v1/two`);
      expect(second.body.toString()).toBe('second');
      expect((await upstream.request(1)).connection).toBe(1);
    });

    it('arriving on the idle connection later: that connection is closed, the next request goes on a new one', async () => {
      const upstream = await scripted((r) => r.socket.write(r.index === 0 ? OK : 'HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond'));
      const gw = await gatewayFor(upstream);
      expect((await testRequest(`${gw.url}/v1/one`)).body.toString()).toBe('ok');
      const { socket } = await upstream.request(0);
      // The answer is complete and relayed: the connection is idle in the pool now.
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nevil!');
      await closed(socket);
      const second = await testRequest(`${gw.url}/v1/two`);
      expect(second.body.toString()).toBe('second');
      expect((await upstream.request(1)).connection).toBe(1);
    });
  });

  describe('keep-alive reuse', () => {
    it('reuses the connection for the next request when the upstream names no timeout', async () => {
      const upstream = await scripted((r) => r.socket.write(OK));
      const gw = await gatewayFor(upstream);
      for (let i = 0; i < 3; i++) expect((await testRequest(`${gw.url}/v1/again`)).body.toString()).toBe('ok');
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 0, 0]);
    });

    it('Keep-Alive: timeout=2 — reused right after, not 1.2 s later (past timeout − 1 s): a new connection, the old one closed', async () => {
      const upstream = await scripted((r) => r.socket.write(`HTTP/1.1 200 OK\r\nKeep-Alive: timeout=2\r\nContent-Length: 2\r\n\r\nok`));
      const gw = await gatewayFor(upstream);
      expect((await testRequest(`${gw.url}/v1/a`)).status).toBe(200);
      expect((await testRequest(`${gw.url}/v1/b`)).status).toBe(200);
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 0]);
      // The time itself is what is tested: there is no event to await instead.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      expect((await testRequest(`${gw.url}/v1/c`)).status).toBe(200);
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 0, 1]);
      await closed(upstream.connections[0]!);
    });

    it('Keep-Alive: timeout=1 — never reused (timeout − 1 s leaves no time): closed after the answer', async () => {
      const upstream = await scripted((r) => r.socket.write(`HTTP/1.1 200 OK\r\nKeep-Alive: timeout=1\r\nContent-Length: 2\r\n\r\nok`));
      const gw = await gatewayFor(upstream);
      expect((await testRequest(`${gw.url}/v1/a`)).status).toBe(200);
      await closed(upstream.connections[0]!);
      expect((await testRequest(`${gw.url}/v1/b`)).status).toBe(200);
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 1]);
    });

    it('Connection: close from the upstream — not reused', async () => {
      const upstream = await scripted((r) => r.socket.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'));
      const gw = await gatewayFor(upstream);
      expect((await testRequest(`${gw.url}/v1/a`)).status).toBe(200);
      await closed(upstream.connections[0]!);
      expect((await testRequest(`${gw.url}/v1/b`)).status).toBe(200);
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 1]);
    });
  });

  describe('an upstream that answers before reading the upload', () => {
    const TOTAL = 1 << 20;
    const TOO_LARGE = 'HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\ntoo big!';

    /** Sends the head and the first 64 KiB of a 1 MiB upload on a raw connection; resolves with what came back once a whole answer has. */
    async function partialUpload(port: number): Promise<{ client: Socket; answer: string }> {
      const client = connect(port, '127.0.0.1');
      client.on('error', () => undefined);
      started.push({ close: async () => void client.destroy() });
      client.write(`POST /v1/upload HTTP/1.1\r\nHost: gateway.test\r\nContent-Type: application/octet-stream\r\nContent-Length: ${TOTAL}\r\n\r\n`);
      client.write(payload(64 * 1024, 1));
      let answer = '';
      await waitFor(
        () => `the client's answer (got ${JSON.stringify(answer)})`,
        (done) => {
          const onData = (c: Buffer): void => {
            answer += c.toString('latin1');
            if (answer.endsWith('too big!')) done();
          };
          client.on('data', onData);
          return () => client.off('data', onData);
        },
      );
      return { client, answer };
    }

    it('relays the 413 to the client and does not reuse the connection', async () => {
      const upstream = await scripted((r) => r.socket.write(r.method === 'POST' ? TOO_LARGE : OK), { beforeBody: true });
      const gw = await gatewayFor(upstream);
      const { answer } = await partialUpload(gw.port);
      expect(answer).toMatch(/^HTTP\/1\.1 413 Payload Too Large\r\n/);
      expect(answer.endsWith('\r\n\r\ntoo big!')).toBe(true);
      await closed((await upstream.request(0)).socket);
      // The upstream would ignore a request on that connection: an answer proves a new one.
      expect((await testRequest(`${gw.url}/v1/next`)).body.toString()).toBe('ok');
      expect((await upstream.request(1)).connection).toBe(1);
    });

    it.each(['net', 'undici'] as const)(
      'then reads the rest of the upload off the client connection: its next request is answered (or the connection closed), %s engine',
      async (engine) => {
        const upstream = await scripted((r) => r.socket.write(r.method === 'POST' ? TOO_LARGE : OK), { beforeBody: true });
        const gw = await startGateway(upstream.url, { proxy: { timeoutMs: 5000, engine } });
        started.push(gw);
        const { client, answer } = await partialUpload(gw.port);
        const keptAlive = /\r\nconnection: keep-alive\r\n/i.test(answer);
        let next = '';
        client.on('data', (c: Buffer) => (next += c.toString('latin1')));
        client.write(payload(TOTAL - 64 * 1024, 2));
        client.write('GET /v1/next HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
        // An answer that says keep-alive owes the client one for its next request; one that
        // says close must close. Either way the client is not left hanging.
        await waitFor(
          () => `an answer to the next request, or the connection closed (the 413 said ${keptAlive ? 'keep-alive' : 'close'}; got ${JSON.stringify(next)})`,
          (done) => {
            const check = (): void => {
              if (next.endsWith('\r\n\r\nok') || client.closed) done();
            };
            client.on('data', check);
            client.on('close', check);
            check();
            return () => {
              client.off('data', check);
              client.off('close', check);
            };
          },
        );
        if (keptAlive) expect(next).toMatch(/^HTTP\/1\.1 200 OK\r\n[\s\S]*\r\n\r\nok$/);
      },
    );
  });

  describe('bodies the framing makes', () => {
    it('relays a close-delimited body (no Content-Length, no Transfer-Encoding) whole', async () => {
      const body = payload(200 * 1024, 3);
      const upstream = await scripted((r) => {
        r.socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n');
        r.socket.write(body.subarray(0, 1000));
        r.socket.write(body.subarray(1000, 150_000));
        r.socket.end(body.subarray(150_000));
      });
      const gw = await gatewayFor(upstream);
      const res = await testRequest(`${gw.url}/v1/until-close`);
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(body.length);
      expect(res.body.equals(body)).toBe(true);
    });

    it('HEAD, 204 and 304 with a Content-Length are bodyless, and their connection is reused', async () => {
      const upstream = await scripted((r) => {
        if (r.method === 'HEAD') r.socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1234\r\n\r\n');
        else if (r.target === '/v1/no-content') r.socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n');
        else if (r.target === '/v1/not-modified') r.socket.write('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 10\r\n\r\n');
        else r.socket.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nafter');
      });
      const gw = await gatewayFor(upstream);
      const head = await testRequest(`${gw.url}/v1/resource`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers['content-length']).toBe('1234');
      expect(head.body.length).toBe(0);
      const noContent = await testRequest(`${gw.url}/v1/no-content`, { method: 'DELETE' });
      expect(noContent.status).toBe(204);
      expect(noContent.body.length).toBe(0);
      const notModified = await testRequest(`${gw.url}/v1/not-modified`, { headers: { 'if-none-match': '"v1"' } });
      expect(notModified.status).toBe(304);
      expect(notModified.body.length).toBe(0);
      // Had the gateway waited for 1234 or 10 body bytes, this answer would be read as one.
      const after = await testRequest(`${gw.url}/v1/after`);
      expect(after.body.toString()).toBe('after');
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 0, 0, 0]);
    });

    it('holds a fast upstream back for a slow client with one drain listener at a time, however many chunks a read holds', async () => {
      // Many small chunks per read: the gateway's writes to the client fail while one read is still being parsed.
      const block = Buffer.from(`400\r\n${'x'.repeat(1024)}\r\n`.repeat(64), 'latin1');
      let sent = 0;
      let onStalled: () => void = () => undefined;
      const stalled = new Promise<void>((resolve) => (onStalled = resolve));
      const upstream = await scripted((r) => {
        r.socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n');
        // Blocks still to write once the gateway has held the upstream back (-1: not yet).
        let left = -1;
        const pump = (): void => {
          while (left !== 0) {
            r.socket.write(block);
            sent += block.length;
            if (left > 0) left--;
            if (r.socket.writableNeedDrain) {
              if (left < 0) {
                // Held back only when no 'drain' comes for a while: a write that merely waits a
                // moment for the gateway to read is not backpressure (with the kernel's loopback
                // buffers and Node 24's larger highWaterMark, the gateway may not have paused yet).
                const held = setTimeout(() => {
                  left = 8;
                  onStalled();
                }, 300);
                return void r.socket.once('drain', () => {
                  clearTimeout(held);
                  pump();
                });
              }
              return void r.socket.once('drain', pump);
            }
          }
          r.socket.end('0\r\n\r\n');
        };
        pump();
      });
      // Mounted in a handler of the test's own, which watches the response's 'drain' listeners.
      const gateway = createGateway(gatewayOptions(upstream.url));
      let most = 0;
      const server = createServer((req, res) => {
        res.on('newListener', (event: string) => {
          if (event === 'drain') most = Math.max(most, res.listenerCount('drain') + 1);
        });
        gateway(req, res);
      });
      started.push({ close: () => closeServer(server).then(() => gateway.close()) });
      const client = connect(await listenLocal(server), '127.0.0.1');
      client.on('error', () => undefined);
      started.push({ close: async () => void client.destroy() });
      client.pause();
      client.write('GET /v1/stream HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
      await withDeadline(stalled, 'the upstream held back');
      let received = '';
      client.on('data', (c: Buffer) => (received = (received + c.toString('latin1')).slice(-16)));
      client.resume();
      await waitFor(
        () => `the end of the relayed body (${sent} bytes sent)`,
        (done) => {
          const check = (): void => void (received.endsWith('\r\n0\r\n\r\n') && done());
          client.on('data', check);
          return () => client.off('data', check);
        },
        15_000,
      );
      // One per pause is all it takes; more pile up (and past 10 Node warns of a leak on the host app's stderr).
      expect(most).toBe(1);
    });

    it('skips 100 Continue and 103 Early Hints before the final answer, and reuses the connection', async () => {
      const upstream = await scripted((r) => {
        r.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
        r.socket.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n');
        r.socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${5 + r.index}\r\n\r\nfinal${'!'.repeat(r.index)}`);
      });
      const gw = await gatewayFor(upstream);
      const first = await rawExchange(gw.port, 'GET /v1/hints HTTP/1.1\r\nHost: gateway.test\r\n\r\n');
      expect(first.raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(first.raw).not.toMatch(/HTTP\/1\.1 1\d\d/);
      expect(first.raw).not.toMatch(/style\.css/);
      expect(first.raw.endsWith('\r\n\r\nfinal')).toBe(true);
      const second = await testRequest(`${gw.url}/v1/hints`);
      expect(second.body.toString()).toBe('final!');
      expect(upstream.requests.map((r) => r.connection)).toEqual([0, 0]);
    });
  });
});

describe('request bytes a host app’s middleware changed, mounted in front of the gateway', () => {
  let upstream: ByteLoggingUpstream;
  let reached: string[];
  const servers: Server[] = [];
  const gateways: Gateway[] = [];

  beforeEach(async () => {
    reached = [];
    upstream = await startByteLoggingUpstream((req, res) => {
      reached.push(`${req.method} ${req.url}`);
      req.resume();
      res.end('reached');
    });
  });
  afterEach(async () => {
    for (const server of servers.splice(0)) await closeServer(server);
    for (const gateway of gateways.splice(0)) await gateway.close();
    await upstream.close();
  });

  /** The gateway mounted in a plain node:http handler that runs `middleware` first. */
  async function mounted(engine: 'net' | 'undici', middleware: (req: IncomingMessage) => void, observer: RecordingObserver): Promise<string> {
    const gateway = wrapGateway(new GatewayCore(resolveConfig(gatewayOptions(upstream.url, { proxy: { engine } }), 'library'), { proxyObserver: observer }));
    gateways.push(gateway);
    const server = createServer((req, res) => {
      middleware(req);
      gateway(req, res);
    });
    servers.push(server);
    return `http://127.0.0.1:${await listenLocal(server)}`;
  }

  /** The gateway behind an Express app whose middleware runs `middleware`. */
  async function expressMounted(
    engine: 'net' | 'undici',
    middleware: (req: IncomingMessage) => void,
    gateway = createGateway(gatewayOptions(upstream.url, { proxy: { engine } })),
  ): Promise<string> {
    gateways.push(gateway);
    const app = express();
    app.use((req, _res, next) => {
      middleware(req);
      next();
    });
    app.use(gateway);
    const server = createServer(app);
    servers.push(server);
    return `http://127.0.0.1:${await listenLocal(server)}`;
  }

  const INJECTIONS: [string, (req: IncomingMessage) => void][] = [
    ['a header value with CR LF', (req) => void (req.headers['x-evil'] = 'a\r\nx-injected: 1')],
    ['a header value with a bare LF', (req) => void (req.headers['x-evil'] = 'a\nx-injected: 1')],
    ['one of several values with CR LF', (req) => void (req.headers['x-evil'] = ['fine', 'a\r\nx-injected: 1'])],
    ['a header name with CR LF', (req) => void (req.headers['x-evil\r\nx-injected'] = '1')],
  ];

  describe.each(['net', 'undici'] as const)('(%s engine)', (engine) => {
    it.each(INJECTIONS)('%s: the upstream never sees the injected header; the client gets the gateway’s 500', async (_name, middleware) => {
      const observer = new RecordingObserver();
      const base = await mounted(engine, middleware, observer);
      const res = await testRequest(`${base}/v1/injected`);
      expect(upstream.saw('x-injected')).toBe(false);
      expect(reached).toEqual([]);
      // The host app's doing: a 500 of the gateway's own, a rejection, no failure counted against the upstream.
      expectHeaderNotForwardable(res);
      await observer.until((o) => o.outcomes.length === 1);
      expect(observer.outcomes[0]).toMatchObject({ status: 500, failure: null, rejected: 'headerNotForwardable', upstreamLatencyMs: null });
      // The gateway goes on forwarding the requests it can.
      const clean = await mounted(engine, () => undefined, new RecordingObserver());
      expect((await testRequest(`${clean}/v1/clean`)).body.toString()).toBe('reached');
    });

    it('the same through an Express middleware', async () => {
      const base = await expressMounted(engine, INJECTIONS[0]![1]);
      const res = await testRequest(`${base}/v1/injected`);
      expectHeaderNotForwardable(res);
      expect(upstream.saw('x-injected')).toBe(false);
      expect(reached).toEqual([]);
    });

    it('what an operator sees of it: a warn log line each time, rejections counted, nothing against the upstream, whose health stays healthy', async () => {
      const log = captureLog();
      // More than the passive health signal's minimum (20 requests, 10 % errors): counted as upstream failures, they would mark it degraded.
      const requests = 25;
      const gateway = createGateway(gatewayOptions(upstream.url, { proxy: { engine }, logger: log.logger, metrics: { listen: false, defaultMetrics: false } }));
      const base = await expressMounted(engine, INJECTIONS[0]![1], gateway);
      await untilStatus(gateway, 'healthy');
      for (let i = 0; i < requests; i++) expect((await testRequest(`${base}/v1/messages`, { method: 'POST', body: 'hi' })).status).toBe(500);
      const logged = log.lines.filter((l) => l.event === 'header_not_forwardable');
      expect(logged).toHaveLength(requests);
      expect(logged[0]).toMatchObject({ level: 40, method: 'POST', route: '/v1/messages', requestId: expect.any(String) });
      const families = parsePrometheusText(await gateway.registry.metrics());
      expect(sampleValue(families, 'cryptid_gateway_rejected_requests_total', { reason: 'header_not_forwardable' })).toBe(requests);
      expect(families.get('cryptid_gateway_upstream_errors_total')?.samples.reduce((sum, s) => sum + s.value, 0)).toBe(0);
      expect(gateway.health.status).toBe('healthy');
      expect(reached).toEqual([]);
    });

    it('a request target rewritten with CR LF in its query: the upstream never sees the injected header', async () => {
      const base = await mounted(engine, (req) => void (req.url = '/v1/rewritten?q=1 HTTP/1.1\r\nx-injected: 1\r\nx-pad: '), new RecordingObserver());
      const res = await testRequest(`${base}/v1/original`);
      expect(upstream.saw('x-injected')).toBe(false);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(reached).toEqual([]);
    });

    it('a request target rewritten with a space in its query: not sent as a request line of four words', async () => {
      const base = await mounted(engine, (req) => void (req.url = '/v1/rewritten?q=a b'), new RecordingObserver());
      const res = await testRequest(`${base}/v1/original`);
      expect(upstream.saw('?q=a b')).toBe(false);
      expect(res.status).toBeGreaterThanOrEqual(400);
    });

    it('a method rewritten with CR LF: the upstream never sees the injected header', async () => {
      const base = await mounted(engine, (req) => void (req.method = 'GET /v1/smuggled HTTP/1.1\r\nx-injected: 1\r\nx-pad: x'), new RecordingObserver());
      const res = await testRequest(`${base}/v1/original`);
      expect(upstream.saw('x-injected')).toBe(false);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(reached).toEqual([]);
    });
  });
});

describe('an https:// upstream', () => {
  let ca: TestCert;
  let leaf: TestCert;
  let upstream: ReturnType<typeof createHttpsServer>;
  let port: number;
  let probes = 0;
  const seen: { method: string; url: string; headers: IncomingMessage['headers']; body: Buffer; servername: string | false | null | undefined }[] = [];
  const DOWNLOAD = payload(300 * 1024, 4);

  beforeAll(async () => {
    ca = makeCert({ commonName: 'framing-test-ca', ca: true, name: 'ca' });
    leaf = makeCert({ commonName: 'localhost', issuer: ca, dir: ca.dir, name: 'leaf' });
    upstream = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
      if (answerProbe(req, res)) return void probes++;
      void readBody(req).then((body) => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, servername: (req.socket as TLSSocket).servername });
        if (req.method === 'GET') res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-upstream': 'tls' }).end(DOWNLOAD);
        else res.writeHead(201, { 'content-type': 'application/octet-stream' }).end(body);
      });
    });
    port = await listenLocal(upstream);
  });
  afterAll(async () => {
    await closeServer(upstream);
    ca.cleanup();
  });

  describe.each(['net', 'undici'] as const)('in-process (%s engine), with the CA in no trust store', (engine) => {
    let gw: TestGateway;
    const observer = new RecordingObserver();
    beforeAll(async () => {
      gw = await startGateway(`https://localhost:${port}`, { proxy: { engine } }, { proxyObserver: observer });
    });
    afterAll(() => gw.close());

    it('verifies the certificate: an untrusted one is a 502 (kind tls), and nothing reaches the upstream', async () => {
      const before = seen.length;
      const res = await testRequest(`${gw.url}/v1/untrusted`);
      expectUpstreamUnavailable(res);
      await observer.until((o) => o.outcomes.length === 1);
      expect(observer.outcomes[0]?.failure).toBe('tls');
      expect(seen.length).toBe(before);
    });
  });

  /*
   * The gateway has no option for an upstream CA: it trusts Node's store, which
   * NODE_EXTRA_CA_CERTS extends (docs/security.md, "Upstream side"). Node reads that variable
   * once at start-up, so the trusted gateway runs in a child process of its own, from the
   * TypeScript sources (test/helpers/ts-register.js), as an operator would run it.
   */
  describe.each(['net', 'undici'] as const)('trusted through NODE_EXTRA_CA_CERTS (%s engine, gateway in a child process)', (engine) => {
    let child: ChildProcess;
    let base: string;

    beforeAll(async () => {
      child = spawn(process.execPath, ['-r', join(__dirname, '..', 'helpers', 'ts-register.js'), '-e', TRUSTING_GATEWAY, `https://localhost:${port}`, engine, PROBE_PATH], {
        env: { PATH: process.env.PATH ?? '', NODE_EXTRA_CA_CERTS: ca.certPath },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const gatewayPort = await withDeadline(
        new Promise<number>((resolve, reject) => {
          child.once('message', (message) => resolve(message as number));
          child.once('exit', (code) => reject(new Error(`the child gateway exited with ${code} before listening`)));
        }),
        'the child gateway to listen',
        15_000,
      );
      base = `http://127.0.0.1:${gatewayPort}`;
    });
    afterAll(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await withDeadline(exited, 'the child gateway to exit', 10_000).catch(() => child.kill('SIGKILL'));
    });

    it('relays a GET byte for byte, with SNI for the upstream’s own name; the probe reaches it too', async () => {
      const before = seen.length;
      const res = await send(`${base}/v1/download?x=1`);
      expect(res.status).toBe(200);
      expect(res.headers['x-upstream']).toBe('tls');
      expect(res.body.equals(DOWNLOAD)).toBe(true);
      expect(seen[before]).toMatchObject({ method: 'GET', url: '/v1/download?x=1', servername: 'localhost' });
      // The health probe goes the same way, with the same trust.
      await pollUntil(() => probes > 0, 'the child gateway’s health probe at the upstream');
    });

    it('checks the certificate against the upstream’s own name, not the client’s Host (docs/security.md)', async () => {
      const before = seen.length;
      const res = await send(`${base}/v1/download`, { headers: { host: 'public.example.test' } });
      expect(res.status).toBe(200);
      expect(res.body.equals(DOWNLOAD)).toBe(true);
      expect(seen[before]).toMatchObject({ servername: 'localhost' });
      expect(seen[before]?.headers.host).toBe('public.example.test');
    });

    it('relays a chunked POST byte for byte, both ways', async () => {
      const before = seen.length;
      const upload = payload(150 * 1024, 5);
      const res = await send(`${base}/v1/upload`, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        parts: [upload.subarray(0, 7), upload.subarray(7, 70_000), upload.subarray(70_000)],
      });
      expect(res.status).toBe(201);
      expect(res.body.equals(upload)).toBe(true);
      expect(seen[before]?.body.equals(upload)).toBe(true);
      expect(seen[before]?.headers['transfer-encoding']).toBe('chunked');
      expect(seen[before]?.headers['content-length']).toBeUndefined();
    });
  });
});

/**
 * The child gateway: `createGateway` from the sources, mounted in node:http on 127.0.0.1:0;
 * the port goes to the parent over IPC, and it closes when the parent disconnects.
 */
const TRUSTING_GATEWAY = `
const { createServer } = require('node:http');
const { createGateway } = require(${JSON.stringify(join(__dirname, '..', '..', 'src'))});
const [upstream, engine, probePath] = process.argv.slice(1);
const gateway = createGateway({
  upstream,
  discovery: { document: { server_name: 'chat.example.test', certificate_fingerprint: 'sha256:' + '0'.repeat(64) } },
  health: { probe: { path: probePath, intervalMs: 60000 } },
  proxy: { engine, timeoutMs: 5000 },
});
const server = createServer(gateway).listen(0, '127.0.0.1', () => process.send(server.address().port));
process.once('disconnect', async () => {
  server.close();
  server.closeAllConnections();
  await gateway.close();
});
`;
