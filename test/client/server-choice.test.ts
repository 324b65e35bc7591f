import { DiscoveryClient, type RejectionReason } from '../../src/client';
import { makeCert, type TestCert } from '../helpers/certs';
import { documentFor, startCryptidServer, type CryptidBehaviour, type FakeCryptidServer } from '../helpers/cryptid-server';
import { startTlsServer } from '../helpers/tls-server';

/** The fleet: one fake server per way a candidate can be good or bad. */
const FLEET: Record<string, (cert: TestCert, name: string) => Partial<CryptidBehaviour>> = {
  'healthy.example.test': () => ({}),
  'degraded.example.test': () => ({ health: { status: 'degraded', details: 'high load' } }),
  'unhealthy.example.test': () => ({ health: { status: 'unhealthy', details: 'Database connection failed' } }),
  'nohealth.example.test': () => ({ health: undefined }),
  'v2.example.test': (cert, name) => ({ document: documentFor(name, cert, { protocol_version: '2.0' }) }),
  'isolated.example.test': (cert, name) => ({ document: documentFor(name, cert, { federation_enabled: false }) }),
  'nows.example.test': (cert, name) => ({ document: documentFor(name, cert, { supported_features: ['mls_messaging'] }) }),
};
const DOWN = 'down.example.test';

let cert: TestCert;
const servers = new Map<string, FakeCryptidServer>();
let downUrl: string;

beforeAll(async () => {
  const names = [...Object.keys(FLEET), DOWN];
  cert = makeCert({ commonName: names[0] ?? '', altNames: names.slice(1) });
  for (const [name, behaviour] of Object.entries(FLEET)) {
    servers.set(name, await startCryptidServer(cert, name, { document: documentFor(name, cert), ...behaviour(cert, name) }));
  }
  const closed = await startTlsServer(cert, () => undefined);
  downUrl = closed.url;
  await closed.close();
});
afterAll(async () => {
  await Promise.all([...servers.values()].map((s) => s.close()));
  cert.cleanup();
});

function client(): DiscoveryClient {
  return new DiscoveryClient({
    ca: cert.cert,
    timeoutMs: 2000,
    resolve: (domain) => servers.get(domain)?.url ?? downUrl,
  });
}

describe('chooseServer', () => {
  it('skips unhealthy and unsuitable servers, prefers healthy over degraded, and says why each was rejected', async () => {
    const choice = await client().chooseServer(
      ['unhealthy.example.test', 'degraded.example.test', 'v2.example.test', DOWN, 'nohealth.example.test', 'nows.example.test', 'healthy.example.test'],
      { requiredFeatures: ['websocket_streaming'] },
    );
    expect(choice.chosen?.domain).toBe('healthy.example.test');
    expect(choice.chosen?.health?.status).toBe('healthy');
    expect(choice.usable.map((u) => u.domain)).toEqual(['healthy.example.test', 'degraded.example.test', 'nohealth.example.test']);
    const reasons = Object.fromEntries(choice.rejected.map((r) => [r.domain, r.reason]));
    expect(reasons).toEqual<Record<string, RejectionReason>>({
      'unhealthy.example.test': 'unhealthy',
      'v2.example.test': 'incompatible_version',
      [DOWN]: 'discovery_failed',
      'nows.example.test': 'missing_features',
    });
    const missing = choice.rejected.find((r) => r.domain === 'nows.example.test');
    expect(missing?.message).toBe('lacks websocket_streaming');
  });

  it('keeps the caller order among servers of equal health', async () => {
    const choice = await client().chooseServer(['isolated.example.test', 'healthy.example.test']);
    expect(choice.usable.map((u) => u.domain)).toEqual(['isolated.example.test', 'healthy.example.test']);
  });

  it('can require federation and a protocol version of its own', async () => {
    const choice = await client().chooseServer(['isolated.example.test', 'healthy.example.test', 'v2.example.test'], {
      requireFederation: true,
      protocolVersion: '2.3',
    });
    expect(choice.chosen?.domain).toBe('v2.example.test');
    expect(choice.rejected.map((r) => r.reason)).toEqual(['incompatible_version', 'incompatible_version']);
  });

  it('returns no choice, with every reason, when nothing qualifies', async () => {
    const choice = await client().chooseServer(['unhealthy.example.test', DOWN]);
    expect(choice.chosen).toBeUndefined();
    expect(choice.rejected).toHaveLength(2);
    expect(choice.rejected.find((r) => r.domain === DOWN)?.error).toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it('can skip health checks altogether', async () => {
    const choice = await client().chooseServer(['unhealthy.example.test'], { checkHealth: false });
    expect(choice.chosen?.domain).toBe('unhealthy.example.test');
    expect(choice.chosen?.health).toBeUndefined();
  });
});

describe('canFederateWith', () => {
  it('is true for a compatible server with federation enabled', async () => {
    expect(await client().canFederateWith('healthy.example.test')).toBe(true);
  });

  it('is false for a server with federation disabled', async () => {
    expect(await client().canFederateWith('isolated.example.test')).toBe(false);
  });

  it('is false for a server of another major protocol version', async () => {
    expect(await client().canFederateWith('v2.example.test')).toBe(false);
  });

  it('rejects with the discovery error for a server that cannot be reached', async () => {
    await expect(client().canFederateWith(DOWN)).rejects.toMatchObject({ name: 'DiscoveryError', code: 'NETWORK_ERROR' });
  });
});
