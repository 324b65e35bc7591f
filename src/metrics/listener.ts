import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry, RegistryContentType } from 'prom-client';
import { writeError } from '../http/json-error';
import { createMetricsHandler } from './handler';

/** What `/readyz` answers: ready, or not and why (a human-readable reason). */
export interface Readiness {
  ready: boolean;
  reason?: string;
}

/** Options of `startMetricsListener`. */
export interface MetricsListenerOptions {
  /** Interface to bind (`metrics.listen`'s host). */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** Served at `/metrics`. */
  registry: Registry<RegistryContentType>;
  /** Asked on every `/readyz`; must answer from state already held, without I/O. */
  isReady: () => Readiness;
}

/** A running private listener. */
export interface MetricsListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops listening and ends every connection, idle or not. Idempotent. */
  close(): Promise<void>;
}

const HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } as const;
const ALLOW = { allow: 'GET, HEAD' } as const;
const LIVE = Buffer.from('{"status":"ok"}');
const READY = Buffer.from('{"status":"ready"}');

function send(res: ServerResponse, status: number, body: Buffer, head: boolean): void {
  const headers: OutgoingHttpHeaders = { ...HEADERS, 'content-length': body.length };
  res.writeHead(status, headers);
  res.end(head ? undefined : body);
}

/**
 * The private listener of `metrics.listen`, separate from public traffic:
 *
 * - `/metrics`: the registry, in its content type;
 * - `/livez`: 200 `{"status":"ok"}` whenever the process can answer at all. It never looks
 *   at the upstream: a dead upstream must not make Kubernetes restart a healthy gateway.
 *   A blocked event loop answers nothing, and the probe's timeout fails it;
 * - `/readyz`: 200 `{"status":"ready"}`, or 503 `{"status":"not_ready","reason":…}`;
 * - anything else: 404, JSON; methods other than GET and HEAD: 405.
 *
 * Probe hits are never logged (this listener logs nothing). Query strings are ignored.
 */
export function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const { isReady } = options;
  const metrics = createMetricsHandler(options.registry);

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path !== '/metrics' && path !== '/livez' && path !== '/readyz') {
      writeError(res, 'notFound', undefined, req.method === 'HEAD');
      return;
    }
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD') {
      writeError(res, 'methodNotAllowed', ALLOW);
      return;
    }
    const head = method === 'HEAD';
    if (path === '/metrics') {
      metrics(req, res);
    } else if (path === '/livez') {
      send(res, 200, LIVE, head);
    } else {
      let readiness: Readiness;
      try {
        readiness = isReady();
      } catch {
        readiness = { ready: false, reason: 'readiness check failed' };
      }
      if (readiness.ready) send(res, 200, READY, head);
      else send(res, 503, Buffer.from(JSON.stringify({ status: 'not_ready', reason: readiness.reason ?? 'not ready' })), head);
    }
  });
  // A malformed request gets the socket closed, nothing more (and no log line).
  server.on('clientError', (_err, socket) => socket.destroy());

  return new Promise<MetricsListener>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolve({
        port,
        close() {
          closing ??= new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          });
          return closing;
        },
      });
    });
  });
}
