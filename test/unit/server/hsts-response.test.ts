import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HSTS_VALUE, HstsResponse } from '../../../src/server/hsts-response';
import { testRequest } from '../../helpers/http-request';

const SHARED: OutgoingHttpHeaders = Object.freeze({ 'content-type': 'text/plain', 'content-length': '2' });

/** Each path writes its head another way Node allows. */
const WRITERS: Record<string, (res: ServerResponse) => void> = {
  '/object': (res) => res.writeHead(200, SHARED).end('ok'),
  '/reason': (res) => res.writeHead(200, 'Fine', SHARED).end('ok'),
  '/pairs': (res) => res.writeHead(200, [['content-type', 'text/plain']]).end('ok'),
  '/flat': (res) => res.writeHead(200, ['content-type', 'text/plain']).end('ok'),
  '/implicit': (res) => res.end('ok'),
  '/status-only': (res) => res.writeHead(204).end(),
  '/set-then-write': (res) => {
    res.setHeader('x-set', '1');
    res.writeHead(200, SHARED).end('ok');
  },
  '/own-object': (res) => res.writeHead(200, { 'Strict-Transport-Security': 'max-age=60' }).end('ok'),
  '/own-flat': (res) => res.writeHead(200, ['Strict-Transport-Security', 'max-age=60']).end('ok'),
  '/own-pairs': (res) => res.writeHead(200, [['strict-transport-security', 'max-age=60']]).end('ok'),
  '/own-set': (res) => {
    res.setHeader('strict-transport-security', 'max-age=60');
    res.writeHead(200, SHARED).end('ok');
  },
};

describe('HstsResponse', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer({ ServerResponse: HstsResponse }, (req: IncomingMessage, res: ServerResponse) => WRITERS[req.url ?? '']?.(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(['/object', '/reason', '/pairs', '/flat', '/implicit', '/status-only', '/set-then-write'])('adds the policy however the head is written: %s', async (path) => {
    const res = await testRequest(`${url}${path}`);
    expect(res.headers['strict-transport-security']).toBe(HSTS_VALUE);
    expect(res.status).toBe(path === '/status-only' ? 204 : 200);
  });

  it('keeps the rest of the head as written', async () => {
    const set = await testRequest(`${url}/set-then-write`);
    expect(set.headers['x-set']).toBe('1');
    expect(set.headers['content-type']).toBe('text/plain');
    expect(set.body.toString()).toBe('ok');
    expect((await testRequest(`${url}/flat`)).headers['content-type']).toBe('text/plain');
  });

  it.each(['/own-object', '/own-flat', '/own-pairs', '/own-set'])('leaves an answer’s own policy alone, whatever its case: %s', async (path) => {
    const res = await testRequest(`${url}${path}`);
    // Node joins a repeated field with ", ": one policy only.
    expect(res.headers['strict-transport-security']).toBe('max-age=60');
  });

  it('never changes the headers object it was given (prepared answers are shared)', async () => {
    await testRequest(`${url}/object`);
    expect(SHARED).toEqual({ 'content-type': 'text/plain', 'content-length': '2' });
  });
});
