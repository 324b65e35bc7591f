import { ROUTES, routeOf, type RouteLabel } from '../../../src/protocol/routes';

const TABLE: [method: string, url: string, route: RouteLabel][] = [
  ['GET', '/.well-known/cryptid', '/.well-known/cryptid'],
  ['HEAD', '/.well-known/cryptid', '/.well-known/cryptid'],
  ['GET', '/v1/health', '/v1/health'],
  ['POST', '/v1/announce', '/v1/announce'],
  ['POST', '/v1/auth/refresh', '/v1/auth/refresh'],
  ['POST', '/v1/messages', '/v1/messages'],
  ['POST', '/v1/messages/batch', '/v1/messages/batch'],
  ['GET', '/v1/stream', '/v1/stream'],
  ['GET', '/v1/stream?token=abc', '/v1/stream'],
  ['POST', '/v1/infopackages/upload', '/v1/infopackages/upload'],
  ['GET', '/v1/infopackages/upload', '/v1/infopackages/upload'],
  ['GET', '/v1/infopackages/Zm9vYmFyLXNlY3JldA', '/v1/infopackages/:url_segment'],
  ['DELETE', '/v1/infopackages/Zm9vYmFyLXNlY3JldA?x=1', '/v1/infopackages/:url_segment'],
  ['POST', '/v1/keypackages/upload', '/v1/keypackages/upload'],
  ['GET', '/v1/keypackages/device-123', '/v1/keypackages/:device_id'],
  ['PUT', '/federation/v1/deliver/tx-0001', '/federation/v1/deliver/:transaction_id'],
  ['GET', '/admin/v1/auth/challenge', '/admin/v1/auth/challenge'],
  ['POST', '/admin/v1/auth', '/admin/v1/auth'],
  ['POST', '/admin/v1/trust/verify', '/admin/v1/trust/verify'],
  ['POST', '/admin/v1/trust/set-rate-limit', '/admin/v1/trust/set-rate-limit'],
  // prefix buckets
  ['GET', '/admin/v1/metrics', '/admin/v1/other'],
  ['POST', '/admin/v1/trust', '/admin/v1/other'],
  ['POST', '/admin/v1/trust/verify/extra', '/admin/v1/other'],
  ['GET', '/admin/v1', '/admin/v1/other'],
  ['GET', '/federation/v2/deliver/tx', '/federation/other'],
  ['PUT', '/federation/v1/deliver', '/federation/other'],
  ['PUT', '/federation/v1/deliver/', '/federation/other'],
  ['PUT', '/federation/v1/deliver/tx/extra', '/federation/other'],
  ['GET', '/federation', '/federation/other'],
  ['GET', '/v1/unknown', '/v1/other'],
  ['GET', '/v1', '/v1/other'],
  ['GET', '/v1/', '/v1/other'],
  ['POST', '/v1/messages/', '/v1/other'],
  ['GET', '/v1/infopackages', '/v1/other'],
  ['GET', '/v1/infopackages/', '/v1/other'],
  ['GET', '/v1/infopackages/a/b', '/v1/other'],
  ['GET', '/v1/Messages', '/v1/other'],
  ['GET', '/v1/%6Dessages', '/v1/other'],
  ['GET', '/v1/infopackages/a%2Fb', '/v1/infopackages/:url_segment'],
  // anything else
  ['GET', '/', 'other'],
  ['GET', '', 'other'],
  ['GET', '*', 'other'],
  ['GET', 'http://example.com/v1/messages', 'other'],
  ['GET', '//v1/messages', 'other'],
  ['GET', '/admin', 'other'],
  ['GET', '/admin/v2/auth', 'other'],
  ['GET', '/metrics', 'other'],
  ['GET', '/.well-known/cryptid/', 'other'],
  ['GET', '/.well-known/other', 'other'],
  ['GET', '/?/v1/messages', 'other'],
  ['GET', '/__proto__', 'other'],
  ['GET', '/v1/constructor', '/v1/other'],
];

describe('routeOf', () => {
  it.each(TABLE)('labels %s %s as %s', (method, url, route) => {
    expect(routeOf(method, url)).toBe(route);
  });

  it('labels a request without a URL as other', () => {
    expect(routeOf(undefined, undefined)).toBe('other');
  });

  it('returns only labels of the closed set, and every label of the set is reachable', () => {
    const seen = new Set(TABLE.map(([m, u]) => routeOf(m, u)));
    for (const label of seen) expect(ROUTES).toContain(label);
    expect([...seen].sort()).toEqual([...ROUTES].sort());
  });

  it('never returns a part of the raw path for random paths', () => {
    const labels = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const secret = Math.random().toString(36).slice(2);
      const prefix = ['/', '/v1/', '/v1/infopackages/', '/federation/v1/deliver/', '/admin/v1/'][i % 5] as string;
      const label = routeOf('GET', `${prefix}${secret}`);
      expect(label).not.toContain(secret);
      labels.add(label);
    }
    expect(labels.size).toBeLessThanOrEqual(5);
  });
});
