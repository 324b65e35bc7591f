import { Cluster, Redis } from 'ioredis';
import type { GatewayOptions, RateLimitKey, RateLimitOptions, RateLimitRuleOptions } from '../../../src';
import { resolveConfig } from '../../../src/config/resolve';

describe('the rate-limit options as users write them', () => {
  it("type a file-like configuration, and a library user's own client", () => {
    // Compile-time checks: these lines fail `npm run typecheck` if the public types drift.
    const sends: RateLimitRuleOptions = { name: 'sends', match: ['POST /v1/messages'], key: 'bearer', limit: 120, windowMs: 60_000 };
    const partners: RateLimitKey = 'header:x-client-id';
    const rateLimits: RateLimitOptions = {
      store: 'redis',
      redis: { url: 'rediss://:secret@redis.cryptid.svc:6380/0', keyPrefix: 'gw:', timeoutMs: 50 },
      onStoreError: 'deny',
      replicas: 3,
      rules: [sends, { name: 'partners', match: ['/federation/'], key: partners, limit: 5000, windowMs: 60_000 }],
    };
    const options: GatewayOptions = {
      upstream: 'http://127.0.0.1:8008',
      discovery: { document: { server_name: 'chat.example.com', certificate_fingerprint: `sha256:${'0'.repeat(64)}` } },
      rateLimits,
    };
    const own = new Redis({ lazyConnect: true });
    const cluster = new Cluster([{ host: '127.0.0.1', port: 7000 }], { lazyConnect: true });
    const library: GatewayOptions = { ...options, rateLimits: { store: 'redis', redis: { client: own } } };
    const withCluster: RateLimitOptions = { store: 'redis', redis: { client: cluster } };
    try {
      expect(resolveConfig(options, 'library').config.rateLimits.rules.map((r) => r.name)).toEqual(['sends', 'partners']);
      expect(resolveConfig(library, 'library').config.rateLimits.redis.client).toBe(own);
      expect(resolveConfig({ ...options, rateLimits: withCluster }, 'library').config.rateLimits.redis.client).toBe(cluster);
    } finally {
      own.disconnect();
      cluster.disconnect();
    }
  });
});
