import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { HttpEngine } from '../config/options';
import type { PoolStats } from '../net/pool-stats';
import { createNetUpstream } from './net-upstream';
import type * as UndiciUpstream from './undici-upstream';

type UndiciUpstreamModule = typeof UndiciUpstream;

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
  /** A chunk of the body went on its way upstream: the caller's "no progress" timer restarts. */
  onProgress(): void;
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
 * The upstream over the engine `proxy.engine` names. undici is loaded only when it is
 * chosen: unused, it would still cost its modules' memory in every sidecar (about 8 MiB).
 */
export function createHttpUpstream(upstream: URL, maxConnections: number, engine: HttpEngine = 'net'): HttpUpstream {
  if (engine !== 'undici') return createNetUpstream(upstream, maxConnections);
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand
  const { createUndiciUpstream } = require('./undici-upstream') as UndiciUpstreamModule;
  return createUndiciUpstream(upstream, maxConnections);
}
