import { once } from 'node:events';
import { copyFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { discover, DiscoveryClient, DiscoveryError, MemoryTofuStore, type DiscoverOptions, type DiscoveryResult } from '../../src/client';
import { startServer, type RunningServer } from '../../src/server/sidecar';
import type { GatewayOptions } from '../../src/config/options';
import { makeCert, opensslFingerprint, type TestCert } from '../helpers/certs';
import { WAIT_MS } from '../helpers/deadline';
import { startUpstream, type TestUpstream } from '../helpers/upstream';

/** The gateways these tests run, by the server name each publishes. */
const NAMES = {
  healthy: 'healthy.example.test',
  degraded: 'degraded.example.test',
  isolated: 'isolated.example.test',
  v2: 'v2.example.test',
  hidden: 'hidden.example.test',
  draining: 'draining.example.test',
} as const;

/** An upstream whose /v1/health says `status` (503 when unhealthy). */
function healthAnswer(status: 'healthy' | 'degraded') {
  return (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      req.url === '/v1/health'
        ? JSON.stringify({ status, timestamp: Math.floor(Date.now() / 1000), version: '1.0.0', uptime: 60, ...(status === 'degraded' && { details: 'queue backlog' }) })
        : '{}',
    );
  };
}

let cert: TestCert;
let healthyUpstream: TestUpstream;
let degradedUpstream: TestUpstream;
const gateways = new Map<string, RunningServer>();

function options(serverName: string, upstream: TestUpstream, extra: Partial<GatewayOptions> = {}, document: Record<string, unknown> = {}): GatewayOptions {
  return {
    upstream: upstream.url,
    listen: '127.0.0.1:0',
    tls: { cert: cert.certPath, key: cert.keyPath },
    metrics: { listen: false },
    discovery: { document: { server_name: serverName, ...document } },
    health: { probe: { intervalMs: 25, healthyThreshold: 1 } },
    shutdown: { drainDelayMs: 0, timeoutMs: 1000 },
    logLevel: 'silent',
    ...extra,
  };
}

function resolveGateway(domain: string): string {
  const running = gateways.get(domain);
  if (running === undefined) throw new Error(`no gateway for ${domain}`);
  return running.url;
}

const connection = (): DiscoverOptions => ({ ca: cert.cert, resolve: resolveGateway, timeoutMs: 2000 });

/**
 * Discovers once the gateway is serving: while it waits for its first probe it answers
 * 503, so every 503 waits for the next probe to reach the upstream (an event, not a sleep).
 */
async function discoverWhenReady(domain: string, upstream: TestUpstream, extra: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const end = Date.now() + WAIT_MS;
  for (;;) {
    try {
      return await discover(domain, { ...connection(), ...extra });
    } catch (error) {
      if (!(error instanceof DiscoveryError && error.code === 'SERVER_UNAVAILABLE')) throw error;
      if (Date.now() > end) throw new Error(`${domain} still answered SERVER_UNAVAILABLE after ${WAIT_MS} ms of probes`);
      await upstream.nextRequest();
    }
  }
}

beforeAll(async () => {
  cert = makeCert({ commonName: NAMES.healthy, altNames: [...Object.values(NAMES).slice(1), 'stale.example.test'] });
  healthyUpstream = await startUpstream(healthAnswer('healthy'));
  degradedUpstream = await startUpstream(healthAnswer('degraded'));
  const start = async (name: string, upstream: TestUpstream, extra?: Partial<GatewayOptions>, document?: Record<string, unknown>) => {
    gateways.set(name, await startServer(options(name, upstream, extra, document)));
  };
  await start(NAMES.healthy, healthyUpstream);
  await start(NAMES.degraded, degradedUpstream);
  await start(NAMES.isolated, healthyUpstream, {}, { federation_enabled: false });
  await start(NAMES.v2, healthyUpstream, {}, { protocol_version: '2.0' });
  await start(NAMES.draining, healthyUpstream);
  gateways.set(NAMES.hidden, await startServer({ ...options(NAMES.hidden, healthyUpstream), discovery: { enabled: false, document: { server_name: NAMES.hidden } } }));
  for (const name of [NAMES.healthy, NAMES.isolated, NAMES.v2, NAMES.draining]) await discoverWhenReady(name, healthyUpstream);
  await discoverWhenReady(NAMES.degraded, degradedUpstream);
  gateways.get(NAMES.draining)?.gateway.beginShutdown();
});

afterAll(async () => {
  await Promise.all([...gateways.values()].map((g) => g.close()));
  await healthyUpstream.close();
  await degradedUpstream.close();
  cert.cleanup();
});

describe('the client against the real gateway', () => {
  it('discovers the published document with the fingerprint of the certificate it serves', async () => {
    const result = await discover(NAMES.healthy, connection());
    expect(result.document.server_name).toBe(NAMES.healthy);
    expect(result.fingerprint).toBe(opensslFingerprint(cert.certPath));
    expect(result.document.certificate_fingerprint).toBe(result.fingerprint);
    expect(result.cache.maxAgeSeconds).toBe(3600);
    expect(result.cache.etag).toMatch(/^"/);
  });

  it('revalidates with the gateway ETag and gets a 304', async () => {
    const first = await discover(NAMES.healthy, connection());
    const second = await discover(NAMES.healthy, { ...connection(), previous: first });
    expect(second.cache.revalidated).toBe(true);
    expect(second.document).toEqual(first.document);
  });

  it('gets ENDPOINT_NOT_FOUND from a gateway with discovery disabled', async () => {
    await expect(discover(NAMES.hidden, connection())).rejects.toMatchObject({ code: 'ENDPOINT_NOT_FOUND', status: 404 });
  });

  it('gets SERVER_UNAVAILABLE from a gateway that is shutting down', async () => {
    await expect(discover(NAMES.draining, connection())).rejects.toMatchObject({ code: 'SERVER_UNAVAILABLE', status: 503 });
  });

  it('serves the last good document, marked stale, once a gateway starts shutting down', async () => {
    let now = 0;
    const client = new DiscoveryClient({ ...connection(), now: () => now });
    const name = 'stale.example.test';
    const upstream = await startUpstream(healthAnswer('healthy'));
    const running = await startServer(options(name, upstream, {}, {}));
    gateways.set(name, running);
    try {
      const end = Date.now() + WAIT_MS;
      for (;;) {
        try {
          await client.capabilities(name);
          break;
        } catch (error) {
          if (!(error instanceof DiscoveryError && error.code === 'SERVER_UNAVAILABLE')) throw error;
          if (Date.now() > end) throw new Error(`${name} still answered SERVER_UNAVAILABLE after ${WAIT_MS} ms of probes`);
          client.forget(name);
          await upstream.nextRequest();
        }
      }
      running.gateway.beginShutdown();
      now += 3_600_000;
      const caps = await client.capabilities(name);
      expect(caps.stale).toBe(true);
      expect(caps.error?.code).toBe('SERVER_UNAVAILABLE');
    } finally {
      gateways.delete(name);
      await running.close();
      await upstream.close();
    }
  });

  it('pins the gateway certificate and notices its rotation', async () => {
    const name = 'rotating.example.test';
    const first = makeCert({ commonName: name });
    const second = makeCert({ commonName: name });
    const upstream = await startUpstream(healthAnswer('healthy'));
    const running = await startServer({ ...options(name, upstream), tls: { cert: first.certPath, key: first.keyPath } });
    gateways.set(name, running);
    const store = new MemoryTofuStore();
    try {
      const pinned = await discoverWhenReady(name, upstream, { ca: [first.cert, second.cert], tofuStore: store });
      expect(pinned.pin.status).toBe('first-use');

      const rotated = once(running, 'certificate');
      copyFileSync(second.keyPath, first.keyPath);
      copyFileSync(second.certPath, first.certPath);
      await rotated;

      const error = (await discover(name, { ...connection(), ca: [first.cert, second.cert], tofuStore: store }).catch((e: unknown) => e)) as DiscoveryError;
      expect(error.code).toBe('FINGERPRINT_MISMATCH');
      expect(error.fingerprintSource).toBe('pin');
      expect(error.presentedFingerprint).toBe(opensslFingerprint(second.certPath));
      const accepted = await discover(name, { ...connection(), ca: [first.cert, second.cert], tofuStore: store, acceptNewFingerprint: error.presentedFingerprint ?? '' });
      expect(accepted.pin.status).toBe('accepted');
    } finally {
      gateways.delete(name);
      await running.close();
      await upstream.close();
      first.cleanup();
      second.cleanup();
    }
  });

  it('chooses among gateways: healthy first, degraded as fallback, the others rejected with reasons', async () => {
    const client = new DiscoveryClient(connection());
    const choice = await client.chooseServer([NAMES.draining, NAMES.degraded, NAMES.v2, NAMES.hidden, NAMES.healthy], { requiredFeatures: ['websocket_streaming'] });
    expect(choice.chosen?.domain).toBe(NAMES.healthy);
    expect(choice.usable.map((u) => [u.domain, u.health?.status])).toEqual([
      [NAMES.healthy, 'healthy'],
      [NAMES.degraded, 'degraded'],
    ]);
    expect(Object.fromEntries(choice.rejected.map((r) => [r.domain, r.reason]))).toEqual({
      [NAMES.draining]: 'discovery_failed',
      [NAMES.v2]: 'incompatible_version',
      [NAMES.hidden]: 'discovery_failed',
    });
  });

  it('can federate only with compatible gateways that accept federation', async () => {
    const client = new DiscoveryClient(connection());
    expect(await client.canFederateWith(NAMES.healthy)).toBe(true);
    expect(await client.canFederateWith(NAMES.isolated)).toBe(false);
    expect(await client.canFederateWith(NAMES.v2)).toBe(false);
  });
});
