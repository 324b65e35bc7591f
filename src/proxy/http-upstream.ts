import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { Pool } from '../net/undici-client';
import type { PoolStats } from '../net/pool-stats';
import { sniOf } from '../net/upstream-sni';
import { UpstreamDispatch } from './upstream-dispatch';

/** What the caller may do with the upstream request: destroy it (with the reason, if any). */
export interface UpstreamRequest {
  destroy(err?: Error): unknown;
}

/** What the caller reads of the upstream response. */
export interface UpstreamResponse {
  readonly statusCode: number;
  readonly statusMessage: string;
  /** Lower-case names; duplicates folded as node:http folds them. */
  readonly headers: IncomingHttpHeaders;
}

/** Which side broke when an error is reported. */
export type ErrorSide = 'upstream' | 'client';

/** One HTTP request handed to the upstream, with the hooks through which the caller steers it. */
export interface HttpCall {
  /** The request target in origin form (path and query), exactly as the upstream receives it: the client's, never rewritten (`req.url` may have lost a mount path). */
  readonly target: string;
  /** Exactly the headers the upstream receives (already filtered; see `headers.ts`). */
  readonly headers: OutgoingHttpHeaders;
  /** The request body to send (the request itself, or a stream it feeds); null for none. */
  readonly body: Readable | null;
  /** The upstream request exists (called once, before any byte of it is answered). */
  onRequest(upstreamReq: UpstreamRequest): void;
  /** Upstream response headers arrived; returns exactly the headers to relay. */
  onResponse(upstreamRes: UpstreamResponse): OutgoingHttpHeaders;
  /** Talking to the upstream failed (also mid-body), or the client's request stream broke. */
  onError(err: Error, side: ErrorSide): void;
}

/** HTTP forwarding to the upstream origin over one keep-alive pool. */
export interface HttpUpstream {
  /** Sends `req` upstream and streams the answer into `res`, reporting through `call`. */
  forward(req: IncomingMessage, res: ServerResponse, call: HttpCall): void;
  readonly stats: PoolStats;
  /** Closes idle connections now; in-flight requests finish or are aborted by their callers. */
  close(): void;
}

/**
 * The upstream over undici's HTTP/1.1 client: one `Pool` of keep-alive connections, one
 * `dispatch()` per request with a small handler object (`UpstreamDispatch`). Nothing is
 * retried: the pool is used bare (no retry or redirect interceptor), and undici re-sends
 * only requests that never reached a socket. undici's own header and body timeouts are
 * off: the caller's timer is the only one. At most `maxConnections` connections are
 * open at once; undici queues requests beyond them until one is free.
 */
export function createHttpUpstream(upstream: URL, maxConnections: number): HttpUpstream {
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
      new UpstreamDispatch(req, res, call).dispatch(pool);
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
