import { FAILURES } from '../../src/http/error-status';
import { startByteLoggingUpstream, type ByteLoggingUpstream } from '../helpers/byte-logging-upstream';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { rawExchange } from '../helpers/raw-http';

/**
 * Requests the gateway cannot forward faithfully are answered by the gateway and never
 * reach the upstream; the ones it can are forwarded exactly. Raw requests, a byte-logging
 * upstream: what the upstream was sent is known to the byte.
 */
describe('request checks before forwarding', () => {
  let upstream: ByteLoggingUpstream;
  let gw: TestGateway;
  let next = 0;

  beforeAll(async () => {
    upstream = await startByteLoggingUpstream((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ url: req.url, headers: req.headers })));
    });
    gw = await startGateway(upstream.url, { document: { federation_enabled: false } });
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  /** A path no other request uses, to tell whether this one reached the upstream. */
  function marker(): string {
    return `/v1/marker-${++next}`;
  }

  async function refused(head: (path: string) => string, status: number, error: string): Promise<void> {
    const path = marker();
    const answer = await rawExchange(gw.port, head(path));
    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ error });
    expect(upstream.saw(path)).toBe(false);
  }

  describe('Host', () => {
    it.each([
      ['two Host headers', (p: string) => `GET ${p} HTTP/1.1\r\nHost: chat.example.test\r\nHost: evil.example\r\n\r\n`],
      ['a space in Host', (p: string) => `GET ${p} HTTP/1.1\r\nHost: a b\r\n\r\n`],
      ['userinfo in Host', (p: string) => `GET ${p} HTTP/1.1\r\nHost: x@evil.example\r\n\r\n`],
      ['a comma in Host', (p: string) => `GET ${p} HTTP/1.1\r\nHost: a, b\r\n\r\n`],
      ['an empty Host', (p: string) => `GET ${p} HTTP/1.1\r\nHost:\r\n\r\n`],
      ['a port that is not a number', (p: string) => `GET ${p} HTTP/1.1\r\nHost: chat.example.test:x\r\n\r\n`],
      ['no Host at all (HTTP/1.0)', (p: string) => `GET ${p} HTTP/1.0\r\n\r\n`],
      ['Connection naming Host', (p: string) => `GET ${p} HTTP/1.1\r\nHost: chat.example.test\r\nConnection: host\r\n\r\n`],
    ])('answers %s with 400 and does not forward it', async (_name, head) => {
      await refused(head, 400, 'BAD_REQUEST');
    });

    it.each(['chat.example.test', 'chat.example.test:8443', '127.0.0.1:80', '[::1]:8443', 'localhost'])('forwards Host: %s unchanged', async (host) => {
      const path = marker();
      const answer = await rawExchange(gw.port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect(answer.status).toBe(200);
      expect(upstream.saw(`GET ${path} HTTP/1.1\r\nhost: ${host}\r\n`)).toBe(true);
      expect(answer.json).toMatchObject({ headers: { host, 'x-forwarded-host': host } });
    });
  });

  describe('framing', () => {
    it.each(['gzip, chunked', 'deflate,chunked', 'identity, chunked'])('answers Transfer-Encoding: %s with 501 NOT_IMPLEMENTED and does not forward it', async (te) => {
      await refused((p) => `POST ${p} HTTP/1.1\r\nHost: chat.example.test\r\nTransfer-Encoding: ${te}\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, 501, 'NOT_IMPLEMENTED');
    });

    it('forwards Transfer-Encoding: chunked as a chunked body', async () => {
      const path = marker();
      const answer = await rawExchange(gw.port, `POST ${path} HTTP/1.1\r\nHost: chat.example.test\r\nTransfer-Encoding: Chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
      expect(answer.status).toBe(200);
      expect(upstream.saw('hello')).toBe(true);
    });
  });

  describe('request targets', () => {
    it('forwards an absolute-form target in origin form', async () => {
      const path = marker();
      const answer = await rawExchange(gw.port, `GET http://chat.example.test${path}?q=1 HTTP/1.1\r\nHost: chat.example.test\r\n\r\n`);
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ url: `${path}?q=1` });
      expect(upstream.saw(`GET ${path}?q=1 HTTP/1.1\r\n`)).toBe(true);
      expect(upstream.saw('http://chat.example.test')).toBe(false);
    });

    it('forwards an absolute-form target without a path as /', async () => {
      const answer = await rawExchange(gw.port, 'GET http://chat.example.test HTTP/1.1\r\nHost: chat.example.test\r\n\r\n');
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ url: '/' });
    });

    it.each([
      ['an absolute-form target for another host than Host', (p: string) => `GET http://evil.example${p} HTTP/1.1\r\nHost: chat.example.test\r\n\r\n`],
      ['userinfo in an absolute-form target', (p: string) => `GET http://x@chat.example.test${p} HTTP/1.1\r\nHost: chat.example.test\r\n\r\n`],
      ['an asterisk target on GET', (p: string) => `GET * HTTP/1.1\r\nHost: chat.example.test\r\nX-Marker: ${p}\r\n\r\n`],
    ])('answers %s with 400 and does not forward it', async (_name, head) => {
      await refused(head, 400, 'BAD_REQUEST');
    });

    it('judges the federation guard on the origin form of an absolute-form target', async () => {
      await refused(() => 'GET http://chat.example.test/federation/v1/deliver/tx HTTP/1.1\r\nHost: chat.example.test\r\n\r\n', 403, 'FEDERATION_DISABLED');
      expect(upstream.saw('/federation/')).toBe(false);
    });

    it('answers OPTIONS * itself: 204 with the methods it forwards', async () => {
      const before = upstream.bytes().length;
      const answer = await rawExchange(gw.port, 'OPTIONS * HTTP/1.1\r\nHost: chat.example.test\r\n\r\n');
      expect(answer.status).toBe(204);
      expect(answer.head).toContain('allow: get, head, post, put, patch, delete, options');
      expect(upstream.bytes().subarray(before).includes('OPTIONS')).toBe(false);
    });
  });

  describe('methods', () => {
    it('answers TRACE with 405 METHOD_NOT_ALLOWED and an Allow header, and does not forward it', async () => {
      const path = marker();
      const answer = await rawExchange(gw.port, `TRACE ${path} HTTP/1.1\r\nHost: chat.example.test\r\n\r\n`);
      expect(answer.status).toBe(405);
      expect(answer.json).toEqual({ error: 'METHOD_NOT_ALLOWED', message: FAILURES.methodNotAllowed.message });
      expect(answer.head).toContain('allow: get, head, post, put, patch, delete, options');
      expect(upstream.saw(path)).toBe(false);
    });
  });

  it('answers CONNECT with 405 when the server hands CONNECT to gateway.upgrade (library mode)', async () => {
    gw.server.on('connect', gw.gateway.upgrade);
    try {
      const answer = await rawExchange(gw.port, 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n');
      expect(answer.status).toBe(405);
      expect(answer.head).toContain('allow: get, head, post, put, patch, delete, options');
      expect(upstream.saw('CONNECT')).toBe(false);
    } finally {
      gw.server.off('connect', gw.gateway.upgrade);
    }
  });

  describe('Connection', () => {
    it("drops a client's X-Forwarded-For named in Connection before appending its own", async () => {
      const answer = await rawExchange(
        gw.port,
        `GET ${marker()} HTTP/1.1\r\nHost: chat.example.test\r\nConnection: keep-alive, X-Forwarded-For\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n`,
      );
      expect(answer.status).toBe(200);
      expect((answer.json as { headers: Record<string, string> }).headers['x-forwarded-for']).toBe('127.0.0.1');
      expect(upstream.saw('203.0.113.9')).toBe(false);
    });
  });

  describe('WebSocket handshakes', () => {
    const upgrade = (target: string, extra = ''): string =>
      `GET ${target} HTTP/1.1\r\nHost: chat.example.test\r\n${extra}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`;

    it('answers a handshake with two Host headers with 400 and does not forward it', async () => {
      await refused((p) => upgrade(p, 'Host: evil.example\r\n'), 400, 'BAD_REQUEST');
    });

    it('forwards an absolute-form handshake target in origin form', async () => {
      const path = marker();
      await rawExchange(gw.port, upgrade(`http://chat.example.test${path}`), 1000);
      expect(upstream.saw(`GET ${path} HTTP/1.1\r\n`)).toBe(true);
      expect(upstream.saw(`http://chat.example.test${path}`)).toBe(false);
    });
  });
});
