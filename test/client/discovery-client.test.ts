import { DiscoveryClient, DiscoveryError, MemoryTofuStore, type DiscoveryClientOptions } from '../../src/client';
import { makeCert, type TestCert } from '../helpers/certs';
import { documentFor, startCryptidServer, type FakeCryptidServer } from '../helpers/cryptid-server';

const DOMAIN = 'chat.example.test';
const PATH = '/.well-known/cryptid';
const HOUR = 3_600_000;

let cert: TestCert;
let server: FakeCryptidServer;
let now: number;

beforeAll(() => {
  cert = makeCert({ commonName: DOMAIN });
});
afterAll(() => cert.cleanup());
beforeEach(async () => {
  now = 1_700_000_000_000;
  server = await startCryptidServer(cert, DOMAIN);
});
afterEach(async () => {
  await server.close();
});

function client(options: DiscoveryClientOptions = {}): DiscoveryClient {
  return new DiscoveryClient({ ca: cert.cert, resolve: server.resolve, timeoutMs: 2000, now: () => now, ...options });
}

function unavailable(): void {
  server.behaviour.discoveryStatus = 503;
  server.behaviour.document = { error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable' };
}

describe('DiscoveryClient caching of capabilities', () => {
  it('answers a second look-up from the cache', async () => {
    const c = client();
    const first = await c.capabilities(DOMAIN);
    const second = await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(1);
    expect(second.document).toEqual(first.document);
    expect(second.stale).toBe(false);
    expect(second.expiresAt).toBe(now + HOUR);
  });

  it('fetches again once the hour is over when the server gives no max-age', async () => {
    server.behaviour.discoveryHeaders = {};
    const c = client();
    await c.capabilities(DOMAIN);
    now += HOUR - 1;
    await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(1);
    now += 1;
    await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(2);
  });

  it('honours a short max-age but never below the one-minute floor', async () => {
    server.behaviour.discoveryHeaders = { 'cache-control': 'max-age=5' };
    const c = client();
    await c.capabilities(DOMAIN);
    now += 59_999;
    await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(1);
    now += 1;
    await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(2);
  });

  it('caps a very long max-age at one day', async () => {
    server.behaviour.discoveryHeaders = { 'cache-control': 'public, max-age=31536000' };
    const c = client();
    const caps = await c.capabilities(DOMAIN);
    expect(caps.expiresAt - caps.fetchedAt).toBe(24 * HOUR);
  });

  it('coalesces concurrent look-ups of one domain into one request', async () => {
    const c = client();
    const results = await Promise.all(Array.from({ length: 20 }, () => c.capabilities(DOMAIN)));
    expect(server.count(PATH)).toBe(1);
    expect(new Set(results.map((r) => r.fingerprint)).size).toBe(1);
  });

  it('revalidates an expired document with its ETag', async () => {
    let conditional = 0;
    server.behaviour.onDiscovery = (req, res) => {
      if (req.headers['if-none-match'] === '"doc-1"') {
        conditional += 1;
        res.writeHead(304, { etag: '"doc-1"', 'cache-control': 'max-age=3600' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag: '"doc-1"', 'cache-control': 'max-age=3600' });
      res.end(JSON.stringify(server.behaviour.document));
    };
    const c = client();
    await c.capabilities(DOMAIN);
    now += HOUR;
    const refreshed = await c.capabilities(DOMAIN);
    expect(conditional).toBe(1);
    expect(refreshed.fetchedAt).toBe(now);
    expect(refreshed.document.server_name).toBe(DOMAIN);
  });

  it('serves the last good document marked stale when a refresh fails transiently', async () => {
    const c = client();
    await c.capabilities(DOMAIN);
    now += HOUR;
    unavailable();
    const stale = await c.capabilities(DOMAIN);
    expect(stale.stale).toBe(true);
    expect(stale.error).toBeInstanceOf(DiscoveryError);
    expect(stale.error?.code).toBe('SERVER_UNAVAILABLE');
    expect(stale.document.server_name).toBe(DOMAIN);
  });

  it('does not ask a failing server again until the negative cache expires', async () => {
    const c = client();
    await c.capabilities(DOMAIN);
    now += HOUR;
    unavailable();
    await c.capabilities(DOMAIN);
    await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(2);
    now += 30_000;
    await c.capabilities(DOMAIN);
    expect(server.count(PATH)).toBe(3);
  });

  it('stops serving a stale document after the stale-if-error window', async () => {
    const c = client({ staleIfErrorMs: 10 * 60_000 });
    await c.capabilities(DOMAIN);
    unavailable();
    now += HOUR + 10 * 60_000;
    await expect(c.capabilities(DOMAIN)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
  });

  it('caches a failure of a never-seen server briefly', async () => {
    unavailable();
    const c = client();
    await expect(c.capabilities(DOMAIN)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
    await expect(c.capabilities(DOMAIN)).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE' });
    expect(server.count(PATH)).toBe(1);
  });

  it('drops the old document when the server now refuses discovery for good', async () => {
    const c = client();
    await c.capabilities(DOMAIN);
    now += HOUR;
    server.behaviour.discoveryStatus = 404;
    await expect(c.capabilities(DOMAIN)).rejects.toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
  });

  it('never masks a certificate change with a stale document, and fetches again once accepted', async () => {
    const other = makeCert({ commonName: DOMAIN });
    try {
      const store = new MemoryTofuStore();
      const c = client({ ca: [cert.cert, other.cert], tofuStore: store });
      await c.capabilities(DOMAIN);
      now += HOUR;
      server.useCert(other);
      server.behaviour.document = documentFor(DOMAIN, other);
      const error = (await c.capabilities(DOMAIN).catch((e: unknown) => e)) as DiscoveryError;
      expect(error.code).toBe('FINGERPRINT_MISMATCH');
      await c.acceptFingerprint(DOMAIN, error.presentedFingerprint ?? '');
      const caps = await c.capabilities(DOMAIN);
      expect(caps.pin.status).toBe('match');
      expect(caps.fingerprint).toBe(error.presentedFingerprint);
    } finally {
      other.cleanup();
    }
  });
});

describe('DiscoveryClient health', () => {
  it('caches health for thirty seconds', async () => {
    const c = client();
    await c.health(DOMAIN);
    now += 29_999;
    await c.health(DOMAIN);
    expect(server.count('/v1/health')).toBe(1);
    now += 1;
    await c.health(DOMAIN);
    expect(server.count('/v1/health')).toBe(2);
  });

  it('reports the clock skew between the server and the local clock', async () => {
    server.behaviour.clockOffsetSeconds = 120;
    const report = await client({ now: Date.now }).health(DOMAIN);
    expect(report.status).toBe('healthy');
    expect(Math.abs(report.clockSkewSeconds - 120)).toBeLessThanOrEqual(1);
  });

  it('reports an unhealthy server from its 503 with the reason', async () => {
    server.behaviour.health = { status: 'unhealthy', details: 'Database connection failed' };
    const report = await client().health(DOMAIN);
    expect(report).toMatchObject({ status: 'unhealthy', httpStatus: 503, details: 'Database connection failed' });
  });

  it('answers ENDPOINT_NOT_FOUND for a server without a health endpoint', async () => {
    server.behaviour.health = undefined;
    await expect(client().health(DOMAIN)).rejects.toMatchObject({ code: 'ENDPOINT_NOT_FOUND' });
  });

  it('answers INVALID_DOCUMENT for a health answer of the wrong shape', async () => {
    server.behaviour.health = { status: 'fine' };
    await expect(client().health(DOMAIN)).rejects.toMatchObject({ code: 'INVALID_DOCUMENT' });
  });
});
