import { GatewayError } from '../errors';
import type { FailureKind } from '../http/error-status';
import { classifyNetworkError, type NetworkFailure } from '../net/failure';

/** Which failure-table row answers each upstream failure: only the gateway's own timer makes a 504. */
export const FAILURE_KINDS: Readonly<Record<NetworkFailure, FailureKind>> = {
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
 * request is destroyed with it, so the error path can tell a timeout from a reset.
 */
export class UpstreamTimeoutError extends GatewayError {
  override readonly name = 'UpstreamTimeoutError';
  constructor(readonly timeoutMs: number) {
    super('UPSTREAM_TIMEOUT', `no response headers from the upstream within ${timeoutMs} ms`, { status: 504 });
  }
}

/** The upstream request is aborted with this when the request body passes `proxy.maxBodyBytes` mid-stream. */
export class BodyTooLargeError extends GatewayError {
  override readonly name = 'BodyTooLargeError';
  constructor() {
    super('MESSAGE_TOO_LARGE', 'request body exceeds proxy.maxBodyBytes', { status: 413 });
  }
}

/** The kind of an error raised while talking to the upstream. Pure. */
export function classifyUpstreamError(err: unknown): NetworkFailure {
  return classifyNetworkError(err).kind;
}

/** The failure-table row for an upstream failure. */
export function failureKindOf(failure: NetworkFailure): FailureKind {
  return FAILURE_KINDS[failure];
}

/**
 * The engine refused to send the request as it stands (a header value with a line break,
 * a name that is not a token: what a middleware of the host app may set). Nothing reached
 * the upstream. The net engine's code, and undici's for a request it will not build.
 */
export function requestNotForwardable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ERR_INVALID_CHAR' || code === 'UND_ERR_INVALID_ARG';
}

/** The error reported when the upstream's response body breaks off before its end. */
export function responseCutShort(): Error {
  return Object.assign(new Error('the upstream response ended before its body was complete'), { code: 'ECONNRESET' });
}
