import { createServer, request, type IncomingMessage } from 'node:http';
import { accessTokenParam, addressKey, bearerToken, clientKey, expandIPv6, socketAddress } from '../../../src/rate-limit/client-key';
import { closeServer, listenLocal } from '../../helpers/listen';

/** What `read` makes of a real request as the server sees it (while its connection is open), sent with these headers and target. */
async function onRequest<T>(path: string, headers: Record<string, string | string[]>, read: (req: IncomingMessage) => T): Promise<T> {
  let seen: { value: T } | undefined;
  const server = createServer((req, res) => {
    seen = { value: read(req) };
    res.end();
  });
  const port = await listenLocal(server);
  await new Promise<void>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => res.resume().on('end', resolve));
    req.on('error', reject);
    req.end();
  });
  await closeServer(server);
  if (seen === undefined) throw new Error('no request seen');
  return seen.value;
}

/** The keys of each kind for one request; `upgrade` as for a WebSocket handshake. */
function keysOf(path: string, headers: Record<string, string | string[]> = {}): Promise<Record<string, string>> {
  return onRequest(path, headers, (req) => ({
    ip: clientKey('ip', req, false, socketAddress),
    bearer: clientKey('bearer', req, false, socketAddress),
    bearerUpgrade: clientKey('bearer', req, true, socketAddress),
    clientId: clientKey('header:x-client-id', req, false, socketAddress),
    other: clientKey('header:x-other', req, false, socketAddress),
    seam: clientKey('ip', req, false, () => '2001:db8::1'),
  }));
}

describe('rate-limit keys', () => {
  it('count IPv4 by address, IPv4-mapped IPv6 as IPv4, and IPv6 by its /64', () => {
    expect(addressKey('192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2::99')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0DB8:0001:0002:ffff::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey(undefined)).toBe('unknown');
    expect(expandIPv6('::ffff:1.2.3.4')).toEqual(['0', '0', '0', '0', '0', 'ffff', '102', '304']);
    expect(expandIPv6('1::')).toEqual(['1', '0', '0', '0', '0', '0', '0', '0']);
  });

  it('read a bearer token from Authorization, and for upgrades from access_token', () => {
    expect(bearerToken('Bearer abc.def-ghi')).toBe('abc.def-ghi');
    expect(bearerToken('bearer  t0k')).toBe('t0k');
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(accessTokenParam('/v1/stream?x=1&access_token=t%2B1')).toBe('t+1');
    expect(accessTokenParam('/v1/stream?access_token=')).toBeUndefined();
    expect(accessTokenParam('/v1/stream')).toBeUndefined();
  });

  it('hash tokens and header values, so that only digests are held', async () => {
    const keys = await keysOf('/v1/stream?access_token=query-token', { authorization: 'Bearer header-token', 'x-client-id': 'client-7' });
    expect(keys.bearer).toMatch(/^bearer:[0-9a-f]{32}$/);
    expect(keys.clientId).toMatch(/^header:x-client-id:[0-9a-f]{32}$/);
    expect(JSON.stringify(keys)).not.toMatch(/header-token|query-token|client-7/);
    // The same token is the same key; another token another.
    expect((await keysOf('/v1/messages', { authorization: 'Bearer header-token' })).bearer).toBe(keys.bearer);
    expect((await keysOf('/v1/messages', { authorization: 'Bearer other-token' })).bearer).not.toBe(keys.bearer);
  });

  it('take access_token only for WebSocket upgrades, and Authorization first', async () => {
    const queryOnly = await keysOf('/v1/stream?access_token=query-token');
    expect(queryOnly.bearerUpgrade).toMatch(/^bearer:/);
    expect(queryOnly.bearer).toBe('ip:127.0.0.1');
    const both = await keysOf('/v1/stream?access_token=query-token', { authorization: 'Bearer header-token' });
    const headerOnly = await keysOf('/v1/stream', { authorization: 'Bearer header-token' });
    expect(both.bearerUpgrade).toBe(headerOnly.bearerUpgrade);
    expect(both.bearerUpgrade).not.toBe(queryOnly.bearerUpgrade);
  });

  it('fall back to the address when a request lacks the key material', async () => {
    const keys = await keysOf('/v1/messages', { authorization: 'Basic dXNlcjpwYXNz', 'x-client-id': '  ' });
    expect(keys).toMatchObject({ ip: 'ip:127.0.0.1', bearer: 'ip:127.0.0.1', clientId: 'ip:127.0.0.1', other: 'ip:127.0.0.1' });
  });

  it('take the address from the seam it is given (trusted proxies plug in there)', async () => {
    expect((await keysOf('/v1/messages')).seam).toBe('ip:2001:db8:0:0::/64');
  });

  it('count a repeated header by all its values together', async () => {
    const twice = await keysOf('/x', { 'x-client-id': ['a', 'b'] });
    const once = await keysOf('/x', { 'x-client-id': 'a' });
    expect(twice.clientId).not.toBe(once.clientId);
  });
});
