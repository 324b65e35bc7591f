import type { FailureKind } from '../http/error-status';

/**
 * What went wrong talking to the upstream, precise enough for the health tracker (only
 * upstream-origin failures count against the upstream) and bounded for metric labels.
 */
export type UpstreamFailure =
  /** Nothing listens at the upstream address (`ECONNREFUSED`). */
  | 'refused'
  /** The connection broke before or while the upstream answered (`ECONNRESET`, `EPIPE`, "socket hang up"). */
  | 'reset'
  /** No response headers within `proxy.timeoutMs` (the gateway's own timer, never the socket's). */
  | 'timeout'
  /** The upstream host name did not resolve (`ENOTFOUND`, `EAI_AGAIN`). */
  | 'dns'
  /** No route to the upstream, or the OS gave up connecting (`EHOSTUNREACH`, `ENETUNREACH`, `ETIMEDOUT`). */
  | 'unreachable'
  /** The TLS handshake with an https upstream failed (certificate, protocol). */
  | 'tls'
  /** The upstream answered something that is not HTTP (`HPE_*` parser errors). */
  | 'protocol'
  /** Anything else. */
  | 'other';

/** Node error codes → failure, one row per code. */
export const ERROR_CODES: Readonly<Record<string, UpstreamFailure>> = {
  ECONNREFUSED: 'refused',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  ERR_STREAM_PREMATURE_CLOSE: 'reset',
  // undici (the default engine): "other side closed", a bad response line, a socket that broke under the request.
  UND_ERR_SOCKET: 'reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
  EHOSTUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENETUNREACH: 'unreachable',
  ENETDOWN: 'unreachable',
  EADDRNOTAVAIL: 'unreachable',
  ETIMEDOUT: 'unreachable',
  // undici gave up connecting (its connect timeout, not the gateway's response timer).
  UND_ERR_CONNECT_TIMEOUT: 'unreachable',
  // undici: the upstream's body did not match its Content-Length.
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'protocol',
  UPSTREAM_TIMEOUT: 'timeout',
};

/** Which failure-table row answers each upstream failure (SPEC §5): only a real timeout is a 504. */
export const FAILURE_KINDS: Readonly<Record<UpstreamFailure, FailureKind>> = {
  refused: 'upstreamUnavailable',
  reset: 'upstreamUnavailable',
  timeout: 'upstreamTimeout',
  dns: 'upstreamUnavailable',
  unreachable: 'upstreamUnavailable',
  tls: 'upstreamUnavailable',
  protocol: 'upstreamUnavailable',
  other: 'upstreamUnavailable',
};

/**
 * The gateway's own "no response headers within `proxy.timeoutMs`" error. The upstream
 * request is destroyed with it, so the engine's error path can tell a timeout from a reset
 * (http-proxy's `proxyTimeout` could not: it surfaced as "socket hang up").
 */
export class UpstreamTimeoutError extends Error {
  override readonly name = 'UpstreamTimeoutError';
  readonly code = 'UPSTREAM_TIMEOUT';
  constructor(readonly timeoutMs: number) {
    super(`no response headers from the upstream within ${timeoutMs} ms`);
  }
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_|ERR_OSSL_)/;

/** Classifies an error raised while talking to the upstream. Pure. */
export function classifyUpstreamError(err: unknown): UpstreamFailure {
  const code = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  if (typeof code !== 'string') return 'other';
  const known = ERROR_CODES[code];
  if (known) return known;
  if (TLS_CODE.test(code)) return 'tls';
  if (code.startsWith('HPE_')) return 'protocol';
  return 'other';
}

/** The failure-table row for an upstream failure. */
export function failureKindOf(failure: UpstreamFailure): FailureKind {
  return FAILURE_KINDS[failure];
}
