import { DiscoveryClient, parseRateLimit, ServerRateLimiter, TokenBucket, type DocumentSource } from '../../src/client';
import type { DiscoveryDocument } from '../../src/client';
import { makeCert, type TestCert } from '../helpers/certs';
import { documentFor, startCryptidServer } from '../helpers/cryptid-server';

describe('parseRateLimit', () => {
  it('reads the period from the limit name', () => {
    expect(parseRateLimit('federated_messages_per_minute', 1000)).toEqual({ capacity: 1000, periodMs: 60_000 });
    expect(parseRateLimit('announcements_per_hour', 24)).toEqual({ capacity: 24, periodMs: 3_600_000 });
    expect(parseRateLimit('uploads_per_fortnight', 3)).toBeUndefined();
  });
});

describe('TokenBucket', () => {
  it('starts full, empties, and refills at the advertised rate', () => {
    let now = 0;
    const bucket = new TokenBucket(24, 3_600_000, () => now);
    for (let i = 0; i < 24; i++) expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.msUntil()).toBe(150_000);
    now += 150_000;
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
    expect(bucket.msUntil(25)).toBe(Infinity);
  });
});

describe('ServerRateLimiter', () => {
  function source(limits: Record<string, number>): DocumentSource & { limits: Record<string, number> } {
    const s = {
      limits,
      capabilities: async (domain: string) => ({
        domain,
        document: { rate_limits: s.limits } as unknown as DiscoveryDocument,
      }),
    };
    return s;
  }

  it('gives one bucket per domain, limit and key', async () => {
    const limiter = new ServerRateLimiter(source({ federated_messages_per_minute: 1000, announcements_per_hour: 2 }), { now: () => 0 });
    expect(await limiter.tryAcquire('a.example.test', 'announcements_per_hour', 'alice')).toBe(true);
    expect(await limiter.tryAcquire('a.example.test', 'announcements_per_hour', 'alice')).toBe(true);
    expect(await limiter.tryAcquire('a.example.test', 'announcements_per_hour', 'alice')).toBe(false);
    expect(await limiter.tryAcquire('a.example.test', 'announcements_per_hour', 'bob')).toBe(true);
    expect(await limiter.tryAcquire('b.example.test', 'announcements_per_hour', 'alice')).toBe(true);
  });

  it('follows a lowered limit when the document changes', async () => {
    const s = source({ federated_messages_per_minute: 1000, announcements_per_hour: 24 });
    const limiter = new ServerRateLimiter(s, { now: () => 0 });
    expect((await limiter.limiterFor('a.example.test', 'announcements_per_hour'))?.tokens).toBe(24);
    s.limits = { ...s.limits, announcements_per_hour: 5 };
    const bucket = await limiter.limiterFor('a.example.test', 'announcements_per_hour');
    expect(bucket?.capacity).toBe(5);
    expect(bucket?.tokens).toBe(5);
  });

  it('does not limit what the server does not advertise', async () => {
    const limiter = new ServerRateLimiter(source({ federated_messages_per_minute: 1000, announcements_per_hour: 24 }));
    expect(await limiter.limiterFor('a.example.test', 'info_package_uploads_per_day')).toBeUndefined();
    expect(await limiter.tryAcquire('a.example.test', 'info_package_uploads_per_day')).toBe(true);
  });

  describe('with a DiscoveryClient', () => {
    let cert: TestCert;
    beforeAll(() => {
      cert = makeCert({ commonName: 'chat.example.test' });
    });
    afterAll(() => cert.cleanup());

    it('reads the limits a real server advertises', async () => {
      const server = await startCryptidServer(cert, 'chat.example.test', {
        document: documentFor('chat.example.test', cert, { rate_limits: { federated_messages_per_minute: 3, announcements_per_hour: 24 } }),
      });
      try {
        const client = new DiscoveryClient({ ca: cert.cert, resolve: server.resolve });
        const limiter = new ServerRateLimiter(client, { now: () => 0 });
        const results = [];
        for (let i = 0; i < 4; i++) results.push(await limiter.tryAcquire('chat.example.test', 'federated_messages_per_minute'));
        expect(results).toEqual([true, true, true, false]);
        expect(server.count('/.well-known/cryptid')).toBe(1);
      } finally {
        await server.close();
      }
    });
  });
});
