import type { IncomingMessage, ServerResponse } from 'node:http';
import { fingerprintOfPem } from '../../src/protocol/fingerprint';
import type { TestCert } from './certs';
import { startTlsServer, type TestTlsServer } from './tls-server';

/** How a fake Cryptid server answers; mutable, so a test can change it between requests. */
export interface CryptidBehaviour {
  /** The discovery body (serialised as JSON unless a string). */
  document: unknown;
  /** Status of the discovery answer. @default 200 */
  discoveryStatus: number;
  /** Extra discovery headers (e.g. `cache-control`, `etag`). */
  discoveryHeaders: Record<string, string>;
  /** The health body, or undefined for a 404 on `/v1/health`. */
  health: { status: string; timestamp?: number; version?: string; uptime?: number; details?: string } | undefined;
  /** Local clock offset the server reports in `timestamp`, seconds. @default 0 */
  clockOffsetSeconds: number;
  /** Replaces the discovery handler entirely (hostile servers). */
  onDiscovery: Handler | undefined;
  /** More paths to answer, e.g. a redirect target. */
  routes: Record<string, Handler>;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A fake Cryptid server: real TLS, a discovery document and a health endpoint. */
export interface FakeCryptidServer extends TestTlsServer {
  readonly behaviour: CryptidBehaviour;
  /** `resolve` option for the client: every domain goes to this server. */
  readonly resolve: () => string;
}

/** The published example document for `serverName`, with `cert`'s fingerprint. */
export function documentFor(serverName: string, cert: TestCert, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    protocol_version: '1.0',
    server_name: serverName,
    federation_enabled: true,
    supported_features: ['mls_messaging', 'websocket_streaming', 'offline_queuing'],
    rate_limits: { federated_messages_per_minute: 1000, announcements_per_hour: 24 },
    message_limits: { max_message_size: 10485760, max_retention_days: 30 },
    certificate_fingerprint: fingerprintOfPem(cert.cert),
    ...overrides,
  };
}

/** Starts a fake Cryptid server for `serverName` with `cert`. */
export async function startCryptidServer(cert: TestCert, serverName: string, behaviour: Partial<CryptidBehaviour> = {}): Promise<FakeCryptidServer> {
  const b: CryptidBehaviour = {
    document: documentFor(serverName, cert),
    discoveryStatus: 200,
    discoveryHeaders: { 'cache-control': 'public, max-age=3600' },
    health: { status: 'healthy' },
    clockOffsetSeconds: 0,
    onDiscovery: undefined,
    routes: {},
    ...behaviour,
  };
  const server = await startTlsServer(cert, (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const route = b.routes[path];
    if (route) return route(req, res);
    if (path === '/.well-known/cryptid') {
      if (b.onDiscovery) return b.onDiscovery(req, res);
      const body = typeof b.document === 'string' ? b.document : JSON.stringify(b.document);
      res.writeHead(b.discoveryStatus, { 'content-type': 'application/json', ...b.discoveryHeaders });
      res.end(body);
      return;
    }
    if (path === '/v1/health' && b.health !== undefined) {
      const { status } = b.health;
      const body = {
        timestamp: Math.floor(Date.now() / 1000) + b.clockOffsetSeconds,
        version: '1.0.0',
        uptime: 3600,
        ...b.health,
      };
      res.writeHead(status === 'unhealthy' ? 503 : 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(body));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: 'ENDPOINT_NOT_FOUND', message: 'Server does not support Cryptid protocol' }));
  });
  return { ...server, behaviour: b, resolve: () => server.url };
}
