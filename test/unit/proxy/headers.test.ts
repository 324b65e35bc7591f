import { connectionListed, forwardRequestHeaders, forwardUpgradeHeaders, relayResponseHeaders } from '../../../src/proxy/headers';

const client = { remoteAddress: '198.51.100.7', encrypted: true };

describe('connectionListed', () => {
  it('reads every token of Connection, trimmed and lower-cased, across repeated headers', () => {
    expect([...connectionListed('keep-alive, X-Foo ,x-bar,,')]).toEqual(['keep-alive', 'x-foo', 'x-bar']);
    expect([...connectionListed(['close', 'X-A'])]).toEqual(['close', 'x-a']);
    expect(connectionListed(undefined).size).toBe(0);
  });
});

describe('forwardRequestHeaders', () => {
  it('removes hop-by-hop headers, those named in Connection, and Expect', () => {
    const out = forwardRequestHeaders(
      {
        connection: 'keep-alive, x-hop',
        'x-hop': '1',
        'keep-alive': 'timeout=5',
        'proxy-connection': 'keep-alive',
        'proxy-authorization': 'Basic x',
        te: 'trailers',
        trailer: 'x-sum',
        upgrade: 'h2c',
        expect: '100-continue',
        'content-length': '3',
        authorization: 'Bearer t',
        host: 'chat.example.test',
      },
      client,
    );
    expect(out).toEqual({
      'content-length': '3',
      authorization: 'Bearer t',
      host: 'chat.example.test',
      'x-forwarded-for': '198.51.100.7',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'chat.example.test',
    });
  });

  it('keeps Transfer-Encoding as the framing of a body without Content-Length', () => {
    expect(forwardRequestHeaders({ 'transfer-encoding': 'chunked' }, client)['transfer-encoding']).toBe('chunked');
  });

  it("drops a client's X-Forwarded-For named in Connection before appending the client address", () => {
    const out = forwardRequestHeaders({ connection: 'X-Forwarded-For', 'x-forwarded-for': '203.0.113.1', host: 'h' }, client);
    expect(out['x-forwarded-for']).toBe('198.51.100.7');
  });

  it('appends to an existing X-Forwarded-For and overrides -Proto and -Host', () => {
    const out = forwardRequestHeaders({ 'x-forwarded-for': '203.0.113.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'evil', host: 'h' }, client);
    expect(out['x-forwarded-for']).toBe('203.0.113.1, 198.51.100.7');
    expect(out['x-forwarded-proto']).toBe('https');
    expect(out['x-forwarded-host']).toBe('h');
  });

  it('does not invent a client address when the socket has none', () => {
    expect(forwardRequestHeaders({}, { remoteAddress: undefined, encrypted: false })).not.toHaveProperty('x-forwarded-for');
  });
});

describe('forwardUpgradeHeaders', () => {
  it('restates the upgrade for this hop and keeps the WebSocket and auth headers', () => {
    const out = forwardUpgradeHeaders(
      {
        connection: 'Upgrade, x-hop',
        upgrade: 'websocket',
        'x-hop': '1',
        'sec-websocket-key': 'k',
        'sec-websocket-version': '13',
        'sec-websocket-protocol': 'a, b',
        'sec-websocket-extensions': 'permessage-deflate',
        authorization: 'Bearer t',
      },
      client,
    );
    expect(out).toMatchObject({
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'k',
      'sec-websocket-version': '13',
      'sec-websocket-protocol': 'a, b',
      'sec-websocket-extensions': 'permessage-deflate',
      authorization: 'Bearer t',
    });
    expect(out).not.toHaveProperty('x-hop');
  });
});

describe('relayResponseHeaders', () => {
  it('drops the upstream connection headers and keeps repeated end-to-end ones', () => {
    expect(
      relayResponseHeaders({
        connection: 'close, x-up',
        'x-up': '1',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        trailer: 'x-sum',
        'set-cookie': ['a=1', 'b=2'],
        'content-type': 'text/plain',
      }),
    ).toEqual({ 'set-cookie': ['a=1', 'b=2'], 'content-type': 'text/plain' });
  });
});
