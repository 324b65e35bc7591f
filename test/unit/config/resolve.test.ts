import { ConfigError } from '../../../src/errors';
import { resolveConfig } from '../../../src/config/resolve';
import { DEFAULTS } from '../../../src/config/defaults';
import { makeCert, type TestCert } from '../../helpers/certs';

const FP = `sha256:${'a'.repeat(64)}`;
const minimal = { upstream: 'http://127.0.0.1:8008', discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } } };

function problemsOf(input: unknown, mode: 'library' | 'serve' = 'library'): { path: string; message: string }[] {
  try {
    resolveConfig(input, mode);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('resolveConfig', () => {
  let cert: TestCert;
  beforeAll(() => {
    cert = makeCert();
  });
  afterAll(() => cert.cleanup());

  it('fills every default from the defaults object', () => {
    const { config } = resolveConfig(minimal, 'library');
    expect(config.upstream.origin).toBe('http://127.0.0.1:8008');
    expect(config.listen).toEqual({ host: '0.0.0.0', port: 8443 });
    expect(config.metrics).toEqual({ listen: false, defaultMetrics: true, gcDurations: false });
    expect(resolveConfig({ ...minimal, metrics: { gcDurations: true } }, 'library').config.metrics.gcDurations).toBe(true);
    expect(config.discovery.enabled).toBe(true);
    expect(config.health.probe).toEqual(DEFAULTS.health.probe);
    expect(config.health.passive).toEqual(DEFAULTS.health.passive);
    expect(config.proxy).toEqual({
      timeoutMs: 30000,
      failFast: false,
      maxBodyBytes: Math.ceil((10485760 * 4) / 3) + 65536,
      maxConnections: 512,
      engine: 'net',
      parsedBody: 'reject',
      paths: ['/'],
      trustedProxies: [],
    });
    expect(config.shutdown).toEqual(DEFAULTS.shutdown);
    expect(config.logLevel).toBe('info');
    expect(config.discovery.document).toEqual({
      protocol_version: '1.0',
      server_name: 'chat.example.com',
      federation_enabled: true,
      supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
      rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
      message_limits: { max_message_size: 10485760, max_retention_days: 30 },
      certificate_fingerprint: FP,
    });
  });

  it('gives each configuration defaults of its own, nothing shared with another one', () => {
    const a = resolveConfig(minimal, 'library').config;
    const b = resolveConfig(minimal, 'library').config;
    expect(b).toEqual(a);
    expect(b.health.probe).not.toBe(a.health.probe);
    expect(b.health.passive).not.toBe(a.health.passive);
    expect(b.proxy.paths).not.toBe(a.proxy.paths);
    expect(b.proxy.trustedProxies).not.toBe(a.proxy.trustedProxies);
  });

  it('opens the metrics listener by default only for serve', () => {
    const { config } = resolveConfig({ ...minimal, tls: { cert: cert.certPath, key: cert.keyPath }, discovery: { document: { server_name: 'chat.example.com' } } }, 'serve');
    expect(config.metrics.listen).toEqual({ host: '0.0.0.0', port: 9464 });
  });

  it('derives maxBodyBytes from max_message_size and keeps an explicit one', () => {
    const derived = resolveConfig({ ...minimal, discovery: { document: { ...minimal.discovery.document, message_limits: { max_message_size: 3000 } } } }, 'library');
    expect(derived.config.proxy.maxBodyBytes).toBe(4000 + 65536);
    expect(derived.config.discovery.document.message_limits).toEqual({ max_message_size: 3000, max_retention_days: 30 });
    const explicit = resolveConfig({ ...minimal, proxy: { maxBodyBytes: 1234 } }, 'library');
    expect(explicit.config.proxy.maxBodyBytes).toBe(1234);
  });

  it('publishes extra document fields as given', () => {
    const websocket = { enabled: true, connection_timeout_seconds: 300 };
    const { config } = resolveConfig(
      { ...minimal, discovery: { document: { ...minimal.discovery.document, websocket, rate_limits: { infopackage_uploads_per_hour: 10 } } } },
      'library',
    );
    expect(config.discovery.document.websocket).toEqual(websocket);
    expect(config.discovery.document.rate_limits).toEqual({ federated_messages_per_minute: 1000, announcements_per_hour: 24, infopackage_uploads_per_hour: 10 });
  });

  it('parses listen addresses in every accepted form', () => {
    expect(resolveConfig({ ...minimal, listen: ':9000' }, 'library').config.listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(resolveConfig({ ...minimal, listen: 9001 }, 'library').config.listen).toEqual({ host: '0.0.0.0', port: 9001 });
    expect(resolveConfig({ ...minimal, listen: '[::1]:9002' }, 'library').config.listen).toEqual({ host: '::1', port: 9002 });
    expect(resolveConfig({ ...minimal, metrics: { listen: '127.0.0.1:0' } }, 'library').config.metrics.listen).toEqual({ host: '127.0.0.1', port: 0 });
  });

  it('reports three mistakes at once, each with its path, expectation and the value that came', () => {
    const problems = problemsOf({
      upstream: 'ftp://x',
      listen: 'nowhere',
      discovery: { document: { server_name: 'Chat.Example.com', certificate_fingerprint: FP } },
    });
    expect(problems.map((p) => p.path)).toEqual(['upstream', 'listen', 'discovery.document.server_name']);
    expect(problems[0]!.message).toMatch(/http: or https:.*got "ftp:\/\/x"/);
    expect(problems[1]!.message).toMatch(/host:port.*got "nowhere"/);
    expect(problems[2]!.message).toMatch(/fully qualified domain name in lower case.*got "Chat.Example.com"/);
  });

  it('lists all problems in the error message itself', () => {
    expect(() => resolveConfig({ upstream: 1, discovery: { document: { server_name: 'x.example' } } }, 'library')).toThrow(
      /invalid configuration \(2 problems\):\n {2}- upstream: .*\n {2}- discovery.document.certificate_fingerprint: /,
    );
  });

  it.each([
    ['a missing upstream', { discovery: minimal.discovery }, 'upstream', /missing/],
    ['an upstream with a path', { ...minimal, upstream: 'http://h:1/api' }, 'upstream', /without path/],
    ['an upstream with credentials', { ...minimal, upstream: 'http://u:p@h:1' }, 'upstream', /credentials/],
    ['a port out of range', { ...minimal, listen: '0.0.0.0:70000' }, 'listen', /between 0 and 65535/],
    ['a negative interval', { ...minimal, health: { probe: { intervalMs: -5 } } }, 'health.probe.intervalMs', /positive integer.*got -5/],
    ['a fractional threshold', { ...minimal, health: { probe: { unhealthyThreshold: 1.5 } } }, 'health.probe.unhealthyThreshold', /positive integer/],
    ['an error rate above 1', { ...minimal, health: { passive: { errorRate: 2 } } }, 'health.passive.errorRate', /between 0/],
    ['a probe path without a slash', { ...minimal, health: { probe: { path: 'v1/health' } } }, 'health.probe.path', /starting with "\/"/],
    ['a string where a boolean belongs', { ...minimal, proxy: { failFast: 'yes' } }, 'proxy.failFast', /true or false.*got "yes"/],
    ['a zero body cap', { ...minimal, proxy: { maxBodyBytes: 0 } }, 'proxy.maxBodyBytes', /positive integer/],
    ['an unknown log level', { ...minimal, logLevel: 'loud' }, 'logLevel', /one of fatal/],
    ['a bad metrics address', { ...minimal, metrics: { listen: true } }, 'metrics.listen', /host:port/],
  ])('rejects %s', (_name, input, path, message) => {
    const problems = problemsOf(input);
    const problem = problems.find((p) => p.path === path);
    expect(problem?.message).toMatch(message);
  });

  it('lists every proxy.paths entry that is not a path prefix, with the value that came', () => {
    const problems = problemsOf({ ...minimal, proxy: { paths: ['v1/', '/a b', '/x?y', 5, '/a/../b', '/%61/', '/ok/', '/v1'] } });
    expect(problems.map((p) => p.path)).toEqual(['proxy.paths[0]', 'proxy.paths[1]', 'proxy.paths[2]', 'proxy.paths[3]', 'proxy.paths[4]', 'proxy.paths[5]']);
    expect(problems[0]!.message).toBe('expected a path prefix starting with "/", such as "/v1/" (got "v1/")');
    expect(problems[4]!.message).toContain('".." segments (got "/a/../b")');
    expect(problemsOf({ ...minimal, proxy: { paths: '/v1/' } })[0]!.message).toContain('expected a list of path prefixes');
    expect(resolveConfig({ ...minimal, proxy: { paths: ['/v1/', '/federation'] } }, 'library').config.proxy.paths).toEqual(['/v1/', '/federation']);
  });

  it('lists every proxy.trustedProxies entry that is not an address or CIDR, with the value that came', () => {
    const entries = ['10.0.0.0/8', 'fd00::/8', '::1', '192.168.1.7', 'localhost', '10.0.0.0/33', '::/129', '10.0.0.1/8/8', 'fe80::1%eth0', '10.0.0.0/', 7];
    const problems = problemsOf({ ...minimal, proxy: { trustedProxies: entries } });
    expect(problems.map((p) => p.path)).toEqual([4, 5, 6, 7, 8, 9, 10].map((i) => `proxy.trustedProxies[${i}]`));
    expect(problems[0]!.message).toBe('expected an IPv4 or IPv6 address, or a CIDR such as "10.0.0.0/8" or "fd00::/8" (got "localhost")');
    expect(problems[1]!.message).toBe('expected a prefix length from 0 to 32 after "/" (got "10.0.0.0/33")');
    expect(problems[2]!.message).toContain('from 0 to 128');
    expect(resolveConfig({ ...minimal, proxy: { trustedProxies: entries.slice(0, 4) } }, 'library').config.proxy.trustedProxies).toEqual(entries.slice(0, 4));
  });

  it('rejects unknown keys at every level, naming the keys that exist', () => {
    const problems = problemsOf({ ...minimal, upstraem: 'x', tls: { crt: 'a' }, health: { probe: { interval: 5 } } });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'upstraem', message: expect.stringMatching(/^unknown key: did you mean "upstream"\? \(expected one of: .*upstream/) },
        { path: 'tls.crt', message: expect.stringMatching(/unknown key.*cert, key/) },
        { path: 'health.probe.interval', message: expect.stringMatching(/unknown key.*intervalMs/) },
      ]),
    );
  });

  it('names the keys that exist under blocks with defaults of their own and in list entries too', () => {
    const rule = { name: 'r', match: ['/v1/'], key: 'ip', limt: 5, windowMs: 1000 };
    const problems = problemsOf({ ...minimal, discovery: { ...minimal.discovery, enabeld: true }, rateLimits: { enabld: true, rules: [rule] } });
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: 'discovery.enabeld', message: expect.stringMatching(/^unknown key: did you mean "enabled"\? \(expected one of: enabled, source, refreshMs, document\)$/) },
        { path: 'rateLimits.enabld', message: expect.stringMatching(/^unknown key: did you mean "enabled"\?/) },
      ]),
    );
    expect(problemsOf({ ...minimal, rateLimits: { rules: [rule] } })).toEqual([
      { path: 'rateLimits.rules[0].limit', message: 'expected a positive integer (missing)' },
      { path: 'rateLimits.rules[0].limt', message: 'unknown key: did you mean "limit"? (expected one of: name, match, key, limit, windowMs)' },
    ]);
  });

  it('requires a certificate and key for serve', () => {
    const problems = problemsOf({ ...minimal }, 'serve');
    expect(problems.map((p) => p.path)).toEqual(['tls.cert', 'tls.key']);
  });

  it('names the certificate file that is missing or not PEM, together with other problems', () => {
    const problems = problemsOf({ ...minimal, upstream: 'nope', tls: { cert: '/does/not/exist.crt', key: cert.keyPath } }, 'serve');
    expect(problems).toEqual([
      { path: 'upstream', message: expect.any(String) },
      { path: 'tls.cert', message: '/does/not/exist.crt: certificate no such file' },
    ]);
    expect(problemsOf({ ...minimal, tls: { cert: cert.keyPath } })).toEqual([{ path: 'tls.cert', message: expect.stringContaining(`${cert.keyPath}: not a PEM certificate`) }]);
  });

  it('refuses a key that does not match the certificate', () => {
    const other = makeCert();
    try {
      expect(problemsOf({ ...minimal, tls: { cert: cert.certPath, key: other.keyPath } }, 'serve')).toEqual([
        { path: 'tls.key', message: expect.stringContaining('private key does not match the certificate') },
      ]);
    } finally {
      other.cleanup();
    }
  });

  it('computes the fingerprint from tls.cert and refuses a literal one that disagrees', () => {
    const { tls } = resolveConfig({ ...minimal, discovery: { document: { server_name: 'chat.example.com' } }, tls: { cert: cert.certPath } }, 'library');
    expect(tls?.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(problemsOf({ ...minimal, tls: { cert: cert.certPath } })).toEqual([
      { path: 'discovery.document.certificate_fingerprint', message: expect.stringContaining(`fingerprint is ${tls!.fingerprint}`) },
    ]);
  });

  it('requires a fingerprint source in library mode', () => {
    expect(problemsOf({ upstream: 'http://h:1', discovery: { document: { server_name: 'chat.example.com' } } })).toEqual([
      { path: 'discovery.document.certificate_fingerprint', message: expect.stringContaining('give tls.cert') },
    ]);
  });
});
