import { ConfigError } from '../../../src/errors';
import { resolveConfig } from '../../../src/config/resolve';
import { DEFAULTS, defaultMaxBodyBytes } from '../../../src/config/defaults';
import { DOCUMENT_DEFAULTS } from '../../../src/protocol/document';

const FP = `sha256:${'a'.repeat(64)}`;
const UPSTREAM = 'http://127.0.0.1:8008';

function problemsOf(input: unknown): { path: string; message: string }[] {
  try {
    resolveConfig(input, 'library');
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

describe('discovery.source and discovery.refreshMs', () => {
  it('default to the configured document, refreshed every 300000 ms, its resolved form unchanged', () => {
    const { config } = resolveConfig({ upstream: UPSTREAM, discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: FP } } }, 'library');
    expect(config.discovery).toEqual({
      enabled: true,
      source: DEFAULTS.discovery.source,
      refreshMs: DEFAULTS.discovery.refreshMs,
      document: { ...DOCUMENT_DEFAULTS, server_name: 'chat.example.com', certificate_fingerprint: FP },
    });
    expect(DEFAULTS.discovery).toMatchObject({ source: 'config', refreshMs: 300000 });
  });

  it('with source upstream, need no document at all but a fingerprint (or tls.cert) in library mode', () => {
    expect(problemsOf({ upstream: UPSTREAM, discovery: { source: 'upstream' } })).toEqual([
      { path: 'discovery.document.certificate_fingerprint', message: expect.stringContaining('required when tls.cert is not set') },
    ]);
    const { config } = resolveConfig({ upstream: UPSTREAM, discovery: { source: 'upstream', document: { certificate_fingerprint: FP } } }, 'library');
    expect(config.discovery).toEqual({ enabled: true, source: 'upstream', refreshMs: 300000, document: { certificate_fingerprint: FP } });
  });

  it('with source upstream, keep only the overrides given (no defaults filled in), each field checked by its own rule', () => {
    const { config } = resolveConfig(
      {
        upstream: UPSTREAM,
        discovery: {
          source: 'upstream',
          refreshMs: 1000,
          document: { certificate_fingerprint: FP, rate_limits: { announcements_per_hour: 3 }, message_limits: { max_message_size: 3000 } },
        },
      },
      'library',
    );
    expect(config.discovery.document).toEqual({ certificate_fingerprint: FP, rate_limits: { announcements_per_hour: 3 }, message_limits: { max_message_size: 3000 } });
    // Until the upstream's document is known, the body cap and the default rules start from the defaults with the overrides.
    expect(config.proxy.maxBodyBytes).toBe(defaultMaxBodyBytes(3000));
    expect(config.rateLimits.rules.map((r) => [r.name, r.limit])).toEqual([
      ['federation', DOCUMENT_DEFAULTS.rate_limits.federated_messages_per_minute],
      ['announce', 30],
    ]);
    expect(
      problemsOf({
        upstream: UPSTREAM,
        discovery: { source: 'upstream', document: { certificate_fingerprint: FP, server_name: 'Chat', supported_features: [], rate_limits: { announcements_per_hour: 0 } } },
      }).map((p) => p.path),
    ).toEqual(['discovery.document.server_name', 'discovery.document.supported_features', 'discovery.document.rate_limits.announcements_per_hour']);
  });

  it('refuse a source that is neither, and a refreshMs under 1000, with the document problems reported too', () => {
    expect(problemsOf({ upstream: UPSTREAM, discovery: { source: 'upstrem', document: { certificate_fingerprint: FP } } })).toEqual([
      { path: 'discovery.source', message: 'expected "config" or "upstream" (got "upstrem")' },
    ]);
    expect(problemsOf({ upstream: UPSTREAM, discovery: { refreshMs: 999, document: { certificate_fingerprint: FP } } })).toEqual([
      { path: 'discovery.refreshMs', message: 'expected an integer ≥ 1000 (milliseconds) (got 999)' },
      { path: 'discovery.document.server_name', message: 'expected the server\'s domain name, e.g. "chat.example.com" (missing)' },
    ]);
    expect(problemsOf({ upstream: UPSTREAM, discovery: { source: 'upstream', refreshMs: 1.5, document: { certificate_fingerprint: FP } } }).map((p) => p.path)).toEqual([
      'discovery.refreshMs',
    ]);
  });

  it('report a missing server_name beside a value that is no integer (zod stops its object-level checks at an integer check)', () => {
    expect(problemsOf({ upstream: UPSTREAM, discovery: { refreshMs: 1000.5, document: { certificate_fingerprint: FP } } })).toEqual([
      { path: 'discovery.refreshMs', message: 'expected an integer ≥ 1000 (milliseconds) (got 1000.5)' },
      { path: 'discovery.document.server_name', message: 'expected the server\'s domain name, e.g. "chat.example.com" (missing)' },
    ]);
    expect(problemsOf({ upstream: UPSTREAM, discovery: { document: { certificate_fingerprint: FP, message_limits: { max_message_size: 1.5 } } } })).toEqual([
      { path: 'discovery.document.message_limits.max_message_size', message: 'expected a positive integer (got 1.5)' },
      { path: 'discovery.document.server_name', message: 'expected the server\'s domain name, e.g. "chat.example.com" (missing)' },
    ]);
  });

  it('check near misses among the overrides too', () => {
    expect(problemsOf({ upstream: UPSTREAM, discovery: { source: 'upstream', document: { certificate_fingerprint: FP, federation_enable: false } } })).toEqual([
      { path: 'discovery.document.federation_enable', message: expect.stringContaining('did you mean "federation_enabled"?') },
    ]);
  });
});
