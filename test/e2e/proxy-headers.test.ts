import type { IncomingHttpHeaders } from 'node:http';
import { testRequest } from '../helpers/http-request';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

describe('header rules', () => {
  let upstream: TestUpstream;
  let gw: TestGateway;

  beforeAll(async () => {
    upstream = await startUpstream((req, res) => {
      req.resume();
      if (req.url === '/hop-response') {
        // Hop-by-hop headers of the upstream's own connection, one of them named in Connection,
        // and a Trailer announcement with real trailers (the gateway relays the body, not trailers).
        res.setHeader('connection', 'keep-alive, x-upstream-hop');
        res.setHeader('x-upstream-hop', 'secret');
        res.setHeader('keep-alive', 'timeout=5');
        res.setHeader('proxy-authenticate', 'Basic');
        res.setHeader('trailer', 'x-checksum');
        res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
        res.setHeader('x-end-to-end', 'kept');
        res.write('ok');
        res.addTrailers({ 'x-checksum': 'abc' });
        res.end();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers, remotePort: req.socket.remotePort }));
    });
    gw = await startGateway(upstream.url);
  });
  afterAll(async () => {
    await gw.close();
    await upstream.close();
  });

  async function seenUpstream(headers: Record<string, string>): Promise<{ headers: IncomingHttpHeaders; remotePort: number }> {
    const res = await testRequest(`${gw.url}/v1/messages?x=1`, { headers });
    expect(res.status).toBe(200);
    return res.json as { headers: IncomingHttpHeaders; remotePort: number };
  }

  it('drops hop-by-hop request headers and every header named in Connection', async () => {
    const { headers } = await seenUpstream({
      connection: 'keep-alive, X-Client-Hop, x-other-hop',
      'x-client-hop': 'private to this hop',
      'x-other-hop': 'also private',
      'keep-alive': 'timeout=30',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'proxy-connection': 'keep-alive',
      te: 'trailers',
      'x-end-to-end': 'kept',
    });
    for (const name of ['x-client-hop', 'x-other-hop', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te']) {
      expect(headers).not.toHaveProperty(name);
    }
    expect(headers['x-end-to-end']).toBe('kept');
    // The gateway's own keep-alive connection, not the client's wishes.
    expect(headers.connection).toBe('keep-alive');
  });

  it('keeps Authorization, Host and end-to-end headers untouched', async () => {
    const { headers } = await seenUpstream({ authorization: 'Bearer tok_123', host: 'chat.example.test', 'content-type': 'text/plain' });
    expect(headers.authorization).toBe('Bearer tok_123');
    expect(headers.host).toBe('chat.example.test');
    expect(headers['content-type']).toBe('text/plain');
  });

  it('appends the client address to X-Forwarded-For and sets X-Forwarded-Proto and -Host', async () => {
    const { headers } = await seenUpstream({
      host: 'chat.example.test',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'spoofed.example',
    });
    expect(headers['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(headers['x-forwarded-proto']).toBe('http');
    expect(headers['x-forwarded-host']).toBe('chat.example.test');
  });

  it('starts X-Forwarded-For with the client address when there is none', async () => {
    const { headers } = await seenUpstream({});
    expect(headers['x-forwarded-for']).toBe('127.0.0.1');
  });

  it('does not forward Expect: the gateway has already answered 100 Continue itself', async () => {
    const { headers } = await seenUpstream({ expect: '100-continue' });
    expect(headers).not.toHaveProperty('expect');
  });

  it('drops hop-by-hop response headers and keeps end-to-end ones, repeated Set-Cookie included', async () => {
    const res = await testRequest(`${gw.url}/hop-response`);
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
    expect(res.headers).not.toHaveProperty('x-upstream-hop');
    expect(res.headers).not.toHaveProperty('proxy-authenticate');
    expect(res.headers).not.toHaveProperty('trailer');
    expect(res.headers['keep-alive']).not.toBe('timeout=5');
    expect(res.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    expect(res.headers['x-end-to-end']).toBe('kept');
  });

  it('pools keep-alive connections to the upstream', async () => {
    const first = await seenUpstream({});
    const second = await seenUpstream({});
    expect(second.remotePort).toBe(first.remotePort);
  });
});
