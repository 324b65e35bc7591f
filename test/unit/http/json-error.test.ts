import { once } from 'node:events';
import { createServer, request, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FAILURES, type FailureKind } from '../../../src/http/error-status';
import { writeError, writeSocketError } from '../../../src/http/json-error';
import { waitFor } from '../../helpers/deadline';
import { closeServer, listenLocal } from '../../helpers/listen';
import { closedOf, readToEnd, socketPair } from '../../helpers/socket-pair';

const KINDS = Object.keys(FAILURES) as FailureKind[];

/** The protocol's error body for a row of the failure table: `{error, message, code?, retry_after?}`. */
function expectedBody(kind: FailureKind): Record<string, unknown> {
  const row: { error: string; message: string; code?: number; retryAfter?: number } = FAILURES[kind];
  return { error: row.error, message: row.message, ...(row.code !== undefined && { code: row.code }), ...(row.retryAfter !== undefined && { retry_after: row.retryAfter }) };
}

/** A raw HTTP/1.1 response split into its status line, headers (lower-case names) and body. */
function parseRaw(raw: Buffer): { statusLine: string; headers: Record<string, string>; body: unknown } {
  const text = raw.toString('latin1');
  const split = text.indexOf('\r\n\r\n');
  if (split === -1) throw new Error(`no end of head in ${JSON.stringify(text)}`);
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { statusLine, headers, body: JSON.parse(text.slice(split + 4)) };
}

describe('writeSocketError', () => {
  it('writes every failure as a complete HTTP/1.1 response: status line, JSON headers, the body, connection: close', async () => {
    const seen: Record<string, unknown> = {};
    const wanted: Record<string, unknown> = {};
    for (const kind of KINDS) {
      const { near, far } = await socketPair();
      const received = readToEnd(far);
      writeSocketError(near, kind);
      const raw = await received;
      const row = FAILURES[kind] as { status: number; retryAfter?: number };
      const body = Buffer.from(JSON.stringify(expectedBody(kind)));
      seen[kind] = parseRaw(raw);
      wanted[kind] = {
        statusLine: `HTTP/1.1 ${row.status} ${STATUS_CODES[row.status]}`,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': String(body.length),
          'cache-control': 'no-store',
          connection: 'close',
          ...(row.retryAfter !== undefined && { 'retry-after': String(row.retryAfter) }),
        },
        body: expectedBody(kind),
      };
      await closedOf(near, 'the written socket');
      far.destroy();
    }
    expect(seen).toEqual(wanted);
  });

  it('is read by a real HTTP client as the status, headers and JSON body, with the socket then closed', async () => {
    const { near, far } = await socketPair();
    const req = request({ createConnection: () => far, path: '/v1/stream', headers: { connection: 'upgrade', upgrade: 'websocket' } });
    const response = waitFor<IncomingMessage>('the response on the socket', (done, fail) => {
      req.once('response', done);
      // Kept after the answer: a late socket error must not go unhandled.
      req.on('error', fail);
    });
    req.end();
    writeSocketError(near, 'upstreamTimeout');
    const res = await response;
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    await once(res, 'end');
    expect({ status: res.statusCode, retryAfter: res.headers['retry-after'], body: JSON.parse(Buffer.concat(chunks).toString()) }).toEqual({
      status: 504,
      retryAfter: '5',
      body: { error: 'UPSTREAM_TIMEOUT', message: 'Upstream server did not answer in time', retry_after: 5 },
    });
    await closedOf(far, "the client's socket");
  });

  it('only destroys a socket that is already destroyed or no longer writable, writing nothing', async () => {
    const destroyed = await socketPair();
    const gotFromDestroyed = readToEnd(destroyed.far);
    destroyed.near.destroy();
    expect(() => writeSocketError(destroyed.near, 'upstreamUnavailable')).not.toThrow();

    const ended = await socketPair();
    const gotFromEnded = readToEnd(ended.far);
    ended.near.end();
    writeSocketError(ended.near, 'upstreamUnavailable');

    expect({ destroyed: (await gotFromDestroyed).length, ended: (await gotFromEnded).length, endedDestroyed: ended.near.destroyed }).toEqual({
      destroyed: 0,
      ended: 0,
      endedDestroyed: true,
    });
    destroyed.far.destroy();
    ended.far.destroy();
  });
});

describe('writeError', () => {
  let server: Server;
  let port: number;
  /** What the handler does with the response; each test sets it. */
  let handle: (res: ServerResponse) => void = () => undefined;
  beforeAll(async () => {
    server = createServer((_req, res) => handle(res));
    port = await listenLocal(server);
  });
  afterAll(() => closeServer(server));

  /** One request on a connection of its own: status, headers, body, or the error the client saw. */
  function call(method = 'GET'): Promise<{ status: number; headers: IncomingMessage['headers']; body: string } | { error: string | undefined }> {
    return waitFor('an answer from the test server', (done) => {
      const req = request({ host: '127.0.0.1', port, method, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code }));
      });
      req.on('error', (e: NodeJS.ErrnoException) => done({ error: e.code }));
      req.end();
      return () => req.destroy();
    });
  }

  it('answers with the status, the JSON body and extra headers merged in', async () => {
    handle = (res) => writeError(res, 'failFast', { 'x-extra': 'yes' });
    const answer = await call();
    expect(answer).toMatchObject({ status: 503, headers: { 'retry-after': '5', 'x-extra': 'yes', 'cache-control': 'no-store' } });
    expect(JSON.parse((answer as { body: string }).body)).toEqual(expectedBody('failFast'));
  });

  it('sends the head alone for HEAD, keeping the length of the body it would have sent', async () => {
    handle = (res) => writeError(res, 'notFound', undefined, true);
    const answer = await call('HEAD');
    expect(answer).toMatchObject({ status: 404, body: '', headers: { 'content-length': String(JSON.stringify(expectedBody('notFound')).length) } });
  });

  it('cuts the connection of a response whose headers are already out, instead of a second head', async () => {
    handle = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial');
      writeError(res, 'upstreamUnavailable');
    };
    const answer = await call();
    expect(answer).toEqual({ error: expect.stringMatching(/ECONNRESET|ERR_STREAM_PREMATURE_CLOSE|aborted/) });
  });
});
