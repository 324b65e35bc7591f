import { ConfigError } from '../../../src/errors';
import { changedKeys } from '../../../src/config/diff';
import { planReload } from '../../../src/config/reload-plan';
import { restartOnlyKeys } from '../../../src/config/restart-only';
import { resolveConfig } from '../../../src/config/resolve';
import type { GatewayOptions, ResolvedConfig } from '../../../src/config/options';

const FP = `sha256:${'a'.repeat(64)}`;
const DOCUMENT = { server_name: 'chat.example.com', certificate_fingerprint: FP };
const base: GatewayOptions = { upstream: 'http://127.0.0.1:8008', discovery: { document: DOCUMENT } };

function resolved(overrides: Partial<GatewayOptions> = {}): ResolvedConfig {
  return resolveConfig({ ...base, ...overrides }, 'library').config;
}

describe('changedKeys', () => {
  it('finds nothing between two resolutions of the same options', () => {
    expect(changedKeys(resolved(), resolved())).toEqual([]);
  });

  it('names each changed leaf by its dotted key, sorted', () => {
    const next = resolved({ proxy: { timeoutMs: 1000, failFast: true }, health: { probe: { intervalMs: 100 } } });
    expect(changedKeys(resolved(), next)).toEqual(['health.probe.intervalMs', 'proxy.failFast', 'proxy.timeoutMs']);
  });

  it('walks into the discovery document, and names the keys derived from it too', () => {
    const next = resolved({ discovery: { document: { ...DOCUMENT, rate_limits: { federated_messages_per_minute: 5, announcements_per_hour: 24 } } } });
    // The default federation rule follows the document: what is enforced changed with what is advertised.
    expect(changedKeys(resolved(), next)).toEqual(['discovery.document.rate_limits.federated_messages_per_minute', 'rateLimits.rules']);
  });

  it('names a field that appears or disappears', () => {
    const next = resolved({ discovery: { document: { ...DOCUMENT, websocket: { path: '/v1/stream' } } } });
    expect(changedKeys(resolved(), next)).toEqual(['discovery.document.websocket']);
    expect(changedKeys(next, resolved())).toEqual(['discovery.document.websocket']);
  });

  it('names a list once, whatever changed in it, and sees a list that did not change as unchanged', () => {
    expect(changedKeys(resolved({ proxy: { paths: ['/v1/'] } }), resolved({ proxy: { paths: ['/v1/', '/federation/'] } }))).toEqual(['proxy.paths']);
    expect(changedKeys(resolved({ proxy: { paths: ['/v1/'] } }), resolved({ proxy: { paths: ['/v1/'] } }))).toEqual([]);
  });

  it('compares the upstream URL by value and an address as one key', () => {
    expect(changedKeys(resolved(), resolved({ upstream: 'http://127.0.0.1:8009' }))).toEqual(['upstream']);
    expect(changedKeys(resolved({ listen: '127.0.0.1:1' }), resolved({ listen: '127.0.0.1:2' }))).toEqual(['listen']);
    expect(changedKeys(resolved({ metrics: { listen: '127.0.0.1:1' } }), resolved({ metrics: { listen: false } }))).toEqual(['metrics.listen']);
    expect(changedKeys(resolved({}), resolved({ metrics: { gcDurations: true } }))).toEqual(['metrics.gcDurations']);
  });

  it('compares rate-limit rules item by item', () => {
    const rule = { name: 'r', match: ['/v1/'], key: 'ip' as const, limit: 5, windowMs: 60000 };
    expect(changedKeys(resolved({ rateLimits: { rules: [rule] } }), resolved({ rateLimits: { rules: [{ ...rule }] } }))).toEqual([]);
    expect(changedKeys(resolved({ rateLimits: { rules: [rule] } }), resolved({ rateLimits: { rules: [{ ...rule, limit: 6 }] } }))).toEqual(['rateLimits.rules']);
  });
});

describe('restartOnlyKeys', () => {
  it('picks the listeners, the certificate paths, the store and the log level, keys below them included', () => {
    expect(
      restartOnlyKeys([
        'listen',
        'metrics.listen',
        'metrics.defaultMetrics',
        'metrics.gcDurations',
        'tls.cert',
        'rateLimits.redis.keyPrefix',
        'rateLimits.store',
        'logLevel',
        'proxy.timeoutMs',
        'rateLimits.rules',
      ]),
    ).toEqual(['listen', 'metrics.listen', 'metrics.defaultMetrics', 'metrics.gcDurations', 'tls.cert', 'rateLimits.redis.keyPrefix', 'rateLimits.store', 'logLevel']);
  });

  it('does not take a key that only starts with the same letters', () => {
    expect(restartOnlyKeys(['listenBacklog', 'tls'])).toEqual([]);
  });
});

describe('planReload', () => {
  const running = resolved({ listen: '127.0.0.1:1' });
  const next = resolved({ listen: '127.0.0.1:2', proxy: { timeoutMs: 1000 } });

  it('refuses a change to a restart-only key whole, naming it, with "refuse"', () => {
    let error: unknown;
    try {
      planReload(running, next, 'refuse');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([{ path: 'listen', message: expect.stringContaining('needs a restart') }]);
  });

  it('keeps the restart-only key at its running value and applies the rest, with "keep"', () => {
    const plan = planReload(running, next, 'keep');
    expect(plan).toMatchObject({ changed: ['proxy.timeoutMs'], kept: ['listen'] });
    expect(plan.config.listen).toEqual(running.listen);
    expect(plan.config.proxy.timeoutMs).toBe(1000);
  });

  it('plans nothing for the same configuration', () => {
    expect(planReload(running, resolved({ listen: '127.0.0.1:1' }), 'refuse')).toMatchObject({ changed: [], kept: [] });
  });
});
