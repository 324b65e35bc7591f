import { Redis } from 'ioredis';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../../src/errors';
import { resolveConfig } from '../../../src/config/resolve';
import { ANNOUNCE_DEVICES_PER_ADDRESS, documentRateLimitRules, parseKey, parseMatch } from '../../../src/config/rate-limit-rules';
import { parseClusterNode, parseRedisUrl, redactRedisUrl } from '../../../src/config/redis-target';
import { makeCert, type TestCert } from '../../helpers/certs';

const FP = `sha256:${'a'.repeat(64)}`;
const minimal = { upstream: 'http://127.0.0.1:8008', discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } } };
const rule = { name: 'sends', match: ['POST /v1/messages'], key: 'bearer', limit: 60, windowMs: 60_000 };

function resolved(rateLimits: unknown, document: Record<string, unknown> = {}) {
  return resolveConfig({ ...minimal, discovery: { document: { ...minimal.discovery.document, ...document } }, rateLimits }, 'library').config.rateLimits;
}

function problemsOf(rateLimits: unknown): { path: string; message: string }[] {
  try {
    resolved(rateLimits);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('rateLimits in the configuration', () => {
  it('is on by default, in memory, with the two rules the document implies', () => {
    expect(resolved(undefined)).toEqual({
      enabled: true,
      store: 'memory',
      redis: { target: undefined, client: undefined, keyPrefix: 'cryptid-gateway:', timeoutMs: 100 },
      onStoreError: 'allow',
      replicas: 1,
      maxKeys: 100000,
      rules: [
        { name: 'federation', match: [{ method: undefined, prefix: '/federation/' }], key: 'ip', limit: 1000, windowMs: 60_000 },
        { name: 'announce', match: [{ method: 'POST', prefix: '/v1/announce' }], key: 'ip', limit: 240, windowMs: 3_600_000 },
      ],
      rulesFromDocument: true,
    });
  });

  it('derives the default rules from the document it publishes', () => {
    const limits = resolved(undefined, { rate_limits: { federated_messages_per_minute: 50, announcements_per_hour: 3 } });
    expect(limits.rules.map((r) => [r.name, r.limit, r.windowMs])).toEqual([
      ['federation', 50, 60_000],
      ['announce', 3 * ANNOUNCE_DEVICES_PER_ADDRESS, 3_600_000],
    ]);
    expect(documentRateLimitRules({ federated_messages_per_minute: 7, announcements_per_hour: 1 }).map((r) => r.limit)).toEqual([7, 10]);
  });

  it('keeps configured rules as given, parsed, and does not follow the document with them', () => {
    const limits = resolved({ rules: [rule, { name: 'ids', match: ['/v1/', 'GET /admin/'], key: 'header:X-Client-Id', limit: 5, windowMs: 1000 }] });
    expect(limits.rulesFromDocument).toBe(false);
    expect(limits.rules).toEqual([
      { name: 'sends', match: [{ method: 'POST', prefix: '/v1/messages' }], key: 'bearer', limit: 60, windowMs: 60_000 },
      {
        name: 'ids',
        match: [
          { method: undefined, prefix: '/v1/' },
          { method: 'GET', prefix: '/admin/' },
        ],
        key: 'header:x-client-id',
        limit: 5,
        windowMs: 1000,
      },
    ]);
    expect(resolved({ rules: [] }).rules).toEqual([]);
  });

  it.each([
    [{ name: '', match: ['/x'], key: 'ip', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].name', /letters, digits/],
    [{ name: 'a{b}', match: ['/x'], key: 'ip', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].name', /letters, digits/],
    [{ name: 'a', match: [], key: 'ip', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].match', /at least one/],
    [{ name: 'a', match: ['v1/'], key: 'ip', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].match[0]', /"METHOD \/prefix"/],
    [{ name: 'a', match: ['post /v1/'], key: 'ip', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].match[0]', /"METHOD \/prefix"/],
    [{ name: 'a', match: ['/x'], key: 'cookie', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].key', /ip, bearer or header:<name>/],
    [{ name: 'a', match: ['/x'], key: 'header:', limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].key', /ip, bearer or header:<name>/],
    [{ name: 'a', match: ['/x'], limit: 1, windowMs: 1000 }, 'rateLimits.rules[0].key', /missing/],
    [{ name: 'a', match: ['/x'], key: 'ip', limit: 0, windowMs: 1000 }, 'rateLimits.rules[0].limit', /positive integer/],
    [{ name: 'a', match: ['/x'], key: 'ip', limit: 1.5, windowMs: 1000 }, 'rateLimits.rules[0].limit', /positive integer/],
    [{ name: 'a', match: ['/x'], key: 'ip', limit: 1, windowMs: 999 }, 'rateLimits.rules[0].windowMs', /at least 1000/],
    [{ name: 'a', match: ['/x'], key: 'ip', limit: 1, windowMs: 1000, burst: 2 }, 'rateLimits.rules[0].burst', /unknown key/],
  ])('refuses the rule %j at %s', (bad, path, message) => {
    const problems = problemsOf({ rules: [bad] });
    expect(problems).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it('lists a rule whose windowMs is no whole number beside the store-level problems (an integer check must not stop them)', () => {
    expect(problemsOf({ store: 'redis', rules: [{ ...rule, windowMs: 1000.5 }] })).toEqual([
      { path: 'rateLimits.rules[0].windowMs', message: 'expected whole milliseconds (got 1000.5)' },
      { path: 'rateLimits.redis.url', message: expect.stringMatching(/required with store: redis.*\(missing\)/) },
    ]);
    expect(problemsOf({ rules: [{ ...rule, windowMs: 999.5 }] })).toEqual([{ path: 'rateLimits.rules[0].windowMs', message: 'expected whole milliseconds (got 999.5)' }]);
    expect(problemsOf({ rules: [{ ...rule, windowMs: '1s' }] })).toEqual([
      { path: 'rateLimits.rules[0].windowMs', message: 'expected milliseconds, at least 1000 (got "1s")' },
    ]);
  });

  it('refuses two rules with one name', () => {
    expect(problemsOf({ rules: [rule, rule] })).toEqual([{ path: 'rateLimits.rules[1].name', message: expect.stringMatching(/unique/) }]);
  });

  it.each([
    [{ enabled: 'yes' }, 'rateLimits.enabled'],
    [{ store: 'memcached' }, 'rateLimits.store'],
    [{ onStoreError: 'retry' }, 'rateLimits.onStoreError'],
    [{ replicas: 0 }, 'rateLimits.replicas'],
    [{ maxKeys: -1 }, 'rateLimits.maxKeys'],
    [{ rules: 'default' }, 'rateLimits.rules'],
    [{ store: 'redis', redis: { url: 'redis://r', timeoutMs: 0 } }, 'rateLimits.redis.timeoutMs'],
    [{ store: 'redis', redis: { url: 'redis://r', keyPrefix: 'gw{1}:' } }, 'rateLimits.redis.keyPrefix'],
    [{ store: 'redis', redis: { url: 'http://r' } }, 'rateLimits.redis.url'],
    [{ store: 'redis', redis: { cluster: [] } }, 'rateLimits.redis.cluster'],
    [{ store: 'redis', redis: { cluster: ['r'] } }, 'rateLimits.redis.cluster[0]'],
    [{ rateLimit: true }, 'rateLimits.rateLimit'],
  ])('refuses %j at %s', (bad, path) => {
    expect(problemsOf(bad).map((p) => p.path)).toContain(path);
  });

  it('needs exactly one Redis, and only with store: redis', () => {
    expect(problemsOf({ store: 'redis' })).toEqual([{ path: 'rateLimits.redis.url', message: expect.stringMatching(/required with store: redis.*\(missing\)/) }]);
    expect(problemsOf({ store: 'redis', redis: { url: 'redis://a', cluster: ['b:1'] } }).map((p) => p.path)).toEqual(['rateLimits.redis.cluster']);
    expect(problemsOf({ redis: { url: 'redis://a' } })).toEqual([{ path: 'rateLimits.redis.url', message: expect.stringMatching(/only used with store: redis/) }]);
  });

  it('never repeats a Redis password in a problem', () => {
    const problems = problemsOf({ store: 'redis', redis: { url: 'redis://:hunter2@redis:6379/x' } });
    expect(problems).toEqual([{ path: 'rateLimits.redis.url', message: expect.stringContaining('redis://:***@redis:6379/x') }]);
    expect(JSON.stringify(problems)).not.toContain('hunter2');
    expect(JSON.stringify(problemsOf({ store: 'redis', redis: { cluster: ['rediss://:hunter2@a:1/2'] } }))).not.toContain('hunter2');
  });

  it('spells out one Redis server from its URL', () => {
    expect(resolved({ store: 'redis', redis: { url: 'redis://gw:p%40ss@redis.internal:6380/2', keyPrefix: 'a:', timeoutMs: 50 } }).redis).toEqual({
      target: { nodes: [{ host: 'redis.internal', port: 6380 }], cluster: false, username: 'gw', password: 'p@ss', db: 2, tls: undefined },
      client: undefined,
      keyPrefix: 'a:',
      timeoutMs: 50,
    });
  });

  it('spells out a Cluster from its seed nodes, with the credentials they share', () => {
    const { target } = resolved({ store: 'redis', redis: { cluster: ['rediss://:pw@10.0.0.1:7000', 'rediss://:pw@10.0.0.2:7001'] } }).redis;
    expect(target).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
      ],
      cluster: true,
      username: undefined,
      password: 'pw',
      db: 0,
      tls: { ca: undefined },
    });
    expect(problemsOf({ store: 'redis', redis: { cluster: ['rediss://:pw@a:1', 'b:2'] } })).toEqual([
      { path: 'rateLimits.redis.cluster', message: expect.stringMatching(/same scheme and credentials/) },
    ]);
  });

  describe('with a CA file', () => {
    let cert: TestCert;
    beforeAll(() => {
      cert = makeCert();
    });
    afterAll(() => cert.cleanup());

    it('reads the CA of a rediss:// server at validation', () => {
      const { target } = resolved({ store: 'redis', redis: { url: 'rediss://redis:6380', ca: cert.certPath } }).redis;
      expect(target?.tls).toEqual({ ca: cert.cert });
    });

    it('reports a CA that is missing, not PEM, or given without TLS', () => {
      expect(problemsOf({ store: 'redis', redis: { url: 'rediss://redis', ca: join(cert.dir, 'none.pem') } })).toEqual([
        { path: 'rateLimits.redis.ca', message: expect.stringMatching(/no such file/) },
      ]);
      const notPem = join(cert.dir, 'not.pem');
      writeFileSync(notPem, 'hello');
      expect(problemsOf({ store: 'redis', redis: { url: 'rediss://redis', ca: notPem } })).toEqual([
        { path: 'rateLimits.redis.ca', message: expect.stringMatching(/expected a PEM certificate/) },
      ]);
      expect(problemsOf({ store: 'redis', redis: { url: 'redis://redis', ca: cert.certPath } })).toEqual([
        { path: 'rateLimits.redis.ca', message: expect.stringMatching(/only used with TLS/) },
      ]);
    });
  });

  it("takes a library user's own ioredis client, and refuses anything else there", () => {
    const client = new Redis({ lazyConnect: true });
    const limits = resolved({ store: 'redis', redis: { client } });
    expect(limits.redis.client).toBe(client);
    expect(limits.redis.target).toBeUndefined();
    expect(problemsOf({ store: 'redis', redis: { client: { host: 'redis' } } })).toEqual([
      { path: 'rateLimits.redis.client', message: expect.stringMatching(/ioredis Redis or Cluster instance \(library only/) },
    ]);
    client.disconnect();
  });
});

describe('the parsers behind rateLimits', () => {
  it('parses match entries: a path prefix, optionally after a method', () => {
    expect(parseMatch('/federation/')).toEqual({ method: undefined, prefix: '/federation/' });
    expect(parseMatch('POST /v1/announce')).toEqual({ method: 'POST', prefix: '/v1/announce' });
    expect(parseMatch(' PUT  /x ')).toEqual({ method: 'PUT', prefix: '/x' });
    for (const bad of ['', 'POST', 'post /x', '/x y', 'POST/x', 'GET  x']) expect(parseMatch(bad)).toBeUndefined();
  });

  it('parses keys, header names in lower case', () => {
    expect(parseKey('ip')).toBe('ip');
    expect(parseKey('bearer')).toBe('bearer');
    expect(parseKey('header:X-Client-Id')).toBe('header:x-client-id');
    for (const bad of ['IP', 'header', 'header:', 'header:a b', 'header:a:b', 'token']) expect(parseKey(bad)).toBeUndefined();
  });

  it('parses Redis URLs and Cluster seed nodes', () => {
    expect(parseRedisUrl('redis://localhost')).toEqual({ host: 'localhost', port: 6379, tls: false, username: undefined, password: undefined, db: 0 });
    expect(parseRedisUrl('rediss://u:p@[::1]:7000/15')).toEqual({ host: '::1', port: 7000, tls: true, username: 'u', password: 'p', db: 15 });
    expect(parseRedisUrl('redis://h/0?family=6')).toBe('expected no query or fragment in the URL');
    expect(parseRedisUrl('redis://h/db')).toMatch(/database number/);
    expect(parseRedisUrl('redis:///0')).toMatch(/host/);
    expect(parseClusterNode('10.0.0.1:7000')).toEqual({ host: '10.0.0.1', port: 7000, tls: false, username: undefined, password: undefined, db: 0 });
    expect(parseClusterNode('[fd00::1]:7000')).toMatchObject({ host: 'fd00::1', port: 7000 });
    expect(parseClusterNode('redis://a:1/3')).toMatch(/database 0 only/);
    expect(parseClusterNode('a:0')).toMatch(/port between/);
    expect(redactRedisUrl('rediss://user:secret@h:1/2')).toBe('rediss://user:***@h:1/2');
    expect(redactRedisUrl('redis://h:1')).toBe('redis://h:1');
  });
});
