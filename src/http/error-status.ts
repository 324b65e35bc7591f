import { PROTOCOL_CODES } from '../protocol/errors';

/**
 * Every error the gateway answers itself, as one pure table, in the protocol's error
 * shape (protocol reference §3). `code` only where the protocol defines one; `retryAfter`
 * only on retryable failures.
 */
export const FAILURES = {
  /** Discovery switched off (server-discovery page, 404). */
  discoveryDisabled: { status: 404, error: 'ENDPOINT_NOT_FOUND', message: 'Server does not support Cryptid protocol' },
  /** Shutting down, or the upstream is unhealthy (server-discovery page, 503). */
  unavailable: { status: 503, error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retryAfter: 5 },
  /**
   * `discovery.source: upstream` before the upstream's first valid document: the protocol's
   * discovery 503, so a client treats it as any temporarily unavailable server (tries a peer, retries).
   */
  discoveryPending: { status: 503, error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retryAfter: 5 },
  /** A method the route does not serve. */
  methodNotAllowed: { status: 405, error: 'METHOD_NOT_ALLOWED', message: 'Method not allowed on this endpoint' },
  /** A path the gateway does not serve and has nowhere to forward. */
  notFound: { status: 404, error: 'ENDPOINT_NOT_FOUND', message: 'No such endpoint' },
  /** Upstream refused, reset, or could not be resolved. */
  upstreamUnavailable: { status: 502, error: 'UPSTREAM_UNAVAILABLE', message: 'Upstream server unavailable', retryAfter: 5 },
  /** No response headers from the upstream within `proxy.timeoutMs`. */
  upstreamTimeout: { status: 504, error: 'UPSTREAM_TIMEOUT', message: 'Upstream server did not answer in time', retryAfter: 5 },
  /** `proxy.failFast` while the upstream is unhealthy. */
  failFast: { status: 503, error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retryAfter: 5 },
  /** Request body above `proxy.maxBodyBytes` (protocol code 4003). */
  tooLarge: { status: 413, error: 'MESSAGE_TOO_LARGE', message: 'Request body exceeds the maximum size', code: PROTOCOL_CODES.MESSAGE_TOO_LARGE },
  /**
   * Over a rate limit (protocol code 4004). Retryable, but `retry_after` differs from answer
   * to answer, so the row has none: the limiter hands the writer the seconds it computed.
   */
  rateLimited: { status: 429, error: 'RATE_LIMIT_EXCEEDED', message: 'Rate limit exceeded', code: PROTOCOL_CODES.RATE_LIMIT_EXCEEDED },
  /** `/federation/*` while the document says `federation_enabled: false`. */
  federationDisabled: { status: 403, error: 'FEDERATION_DISABLED', message: 'This server does not accept federation requests' },
  /** An `Upgrade` request that is not a WebSocket handshake (`GET` with `Upgrade: websocket`). */
  badUpgrade: { status: 400, error: 'UNSUPPORTED_UPGRADE', message: 'Only WebSocket upgrades are supported' },
  /** A request target the gateway will not forward: a control character in the path, or a form it cannot pass on faithfully. */
  badTarget: { status: 400, error: 'BAD_REQUEST', message: 'Malformed request target' },
  /** Not exactly one `Host`, a malformed one, or one named in `Connection` (RFC 9112 §3.2). */
  badHost: { status: 400, error: 'BAD_REQUEST', message: 'Missing, repeated or malformed Host header' },
  /** A transfer coding other than `chunked` alone: not applied, so not forwarded (RFC 9112 §6.1). */
  notImplemented: { status: 501, error: 'NOT_IMPLEMENTED', message: 'Transfer-Encoding not supported' },
  /** A request the HTTP parser refused (malformed request line, headers or framing). */
  badRequest: { status: 400, error: 'BAD_REQUEST', message: 'Malformed HTTP request' },
  /** The request's headers did not arrive within the server's `headersTimeout`. */
  requestTimeout: { status: 408, error: 'REQUEST_TIMEOUT', message: 'Request not received in time' },
  /** The request's header block is larger than the parser accepts. */
  headersTooLarge: { status: 431, error: 'HEADERS_TOO_LARGE', message: 'Request header fields too large' },
  /** The gateway failed to produce an answer of its own (a metrics collector threw). */
  internal: { status: 500, error: 'INTERNAL_ERROR', message: 'The gateway could not produce this answer', retryAfter: 5 },
  /** A middleware of the host app read the request body before the gateway, and its bytes are not at hand: not forwarded short. */
  bodyAlreadyRead: { status: 500, error: 'BODY_ALREADY_READ', message: 'The request body was read before it reached the gateway and cannot be forwarded' },
  /**
   * A request header a middleware of the host app set (or rewrote) to something HTTP cannot
   * carry, a line break in a value say: not sent, and not the upstream's failure.
   */
  headerNotForwardable: { status: 500, error: 'INTERNAL_ERROR', message: 'A request header set before the gateway cannot be forwarded' },
  /** A WebSocket upgrade on a path outside `proxy.paths`: not tunnelled. */
  upgradeNotForwarded: { status: 400, error: 'UNSUPPORTED_UPGRADE', message: 'WebSocket upgrades are not accepted on this path' },
} as const satisfies Record<string, Failure>;

/** One row of the failure table. */
export interface Failure {
  readonly status: number;
  readonly error: string;
  readonly message: string;
  readonly code?: number;
  readonly retryAfter?: number;
}

/** Names of the failures the gateway can answer with. */
export type FailureKind = keyof typeof FAILURES;
