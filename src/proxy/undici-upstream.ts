import { Pool } from '../net/undici-client';
import { sniOf } from '../net/upstream-sni';
import type { HttpUpstream } from './http-upstream';
import { UpstreamDispatch } from './upstream-dispatch';

/**
 * The upstream over undici's HTTP/1.1 client: one `Pool` of keep-alive connections, one
 * `dispatch()` per request with a small handler object (`UpstreamDispatch`). Nothing is
 * retried: the pool is used bare (no retry or redirect interceptor), and undici re-sends
 * only requests that never reached a socket. undici's own header and body timeouts are
 * off: the caller's timer is the only one. At most `maxConnections` connections are
 * open at once; undici queues requests beyond them until one is free.
 */
export function createUndiciUpstream(upstream: URL, maxConnections: number): HttpUpstream {
  const servername = sniOf(upstream)?.servername;
  const pool = new Pool(upstream.origin, {
    connections: maxConnections,
    headersTimeout: 0,
    bodyTimeout: 0,
    ...(servername !== undefined && { connect: { servername } }),
  });
  // A pool that lost its connection reports it here as well as to the request; the request's report is the one that counts.
  pool.on('connectionError', () => undefined);
  return {
    forward(req, res, call) {
      new UpstreamDispatch(req, res, call).dispatch(pool, servername);
    },
    stats: {
      inUse: () => Math.max(0, pool.stats.connected - pool.stats.free),
      free: () => pool.stats.free,
    },
    close() {
      pool.close().catch(() => undefined);
    },
  };
}
