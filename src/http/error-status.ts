/**
 * Every error the gateway answers itself, as one pure table (SPEC §5; protocol reference §3).
 * `code` only where the protocol defines one; `retryAfter` only on retryable failures.
 */
export const FAILURES = {
  /** Discovery switched off (server-discovery page, 404). */
  discoveryDisabled: { status: 404, error: 'ENDPOINT_NOT_FOUND', message: 'Server does not support Cryptid protocol' },
  /** Shutting down, or the upstream is unhealthy (server-discovery page, 503). */
  unavailable: { status: 503, error: 'SERVER_UNAVAILABLE', message: 'Server temporarily unavailable', retryAfter: 5 },
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
  tooLarge: { status: 413, error: 'MESSAGE_TOO_LARGE', message: 'Request body exceeds the maximum size', code: 4003 },
  /** `/federation/*` while the document says `federation_enabled: false`. */
  federationDisabled: { status: 403, error: 'FEDERATION_DISABLED', message: 'This server does not accept federation requests' },
  /** An `Upgrade` request that is not a WebSocket handshake (`GET` with `Upgrade: websocket`). */
  badUpgrade: { status: 400, error: 'UNSUPPORTED_UPGRADE', message: 'Only WebSocket upgrades are supported' },
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
