import type { NetworkFailure } from '../net/failure';

/** Why the gateway answered a request itself instead of forwarding (or finishing) it. */
export type Rejection =
  | 'tooLarge'
  | 'federationDisabled'
  | 'failFast'
  | 'closed'
  /** A body parser read the body and its bytes are not at hand. */
  | 'bodyAlreadyRead'
  /** Not forwarded because it could not be forwarded faithfully (a control character in the path, a bad Host…). */
  | 'badRequest'
  /** CONNECT or TRACE. */
  | 'methodNotAllowed'
  /** A transfer coding other than `chunked`. */
  | 'notImplemented'
  /** A header a middleware set to something HTTP cannot carry: the upstream was not contacted. */
  | 'headerNotForwardable';

/** The outcome of one proxied HTTP request, reported once, when its response is over. */
export interface RequestOutcome {
  /** Request method as received. */
  readonly method: string;
  /**
   * Request path without the query. Private data (an InfoPackage URL segment is a secret):
   * map it to a route template before it goes into a log line or a metric label.
   */
  readonly path: string;
  /** Status sent to the client; 0 when the client left before any status was sent. */
  readonly status: number;
  /** Time from forwarding to the upstream's response headers; null when none arrived. */
  readonly upstreamLatencyMs: number | null;
  /** Time from receiving the request to the end of its response. */
  readonly durationMs: number;
  /** An upstream-origin failure (refused, reset, timeout, …); null when the upstream behaved. */
  readonly failure: NetworkFailure | null;
  /** Set when the gateway refused the request itself; the upstream was not (or no longer) involved. */
  readonly rejected: Rejection | null;
  /** The client went away before its response was complete (the upstream request was aborted). */
  readonly clientAborted: boolean;
}

/** Why a WebSocket upgrade did not become a tunnel. */
export type UpgradeFailure =
  | NetworkFailure
  /** The upstream answered the handshake with an HTTP response (401, 503, …), relayed to the client. */
  | 'upstreamRefusedUpgrade'
  /** The client went away during the handshake. */
  | 'clientAborted'
  /** Not a WebSocket handshake, or refused by the gateway (federation guard, fail-fast, closed). */
  | 'rejected';

/**
 * The seam through which the health tracker and the metrics see the proxied traffic.
 * `GatewayCore` passes one in; calls are synchronous and must not throw.
 */
export interface ProxyObserver {
  requestFinished(outcome: RequestOutcome): void;
  tunnelOpened(): void;
  tunnelClosed(): void;
  upgradeFailed(reason: UpgradeFailure): void;
}

/** An observer that ignores everything: the default until health and metrics plug in. */
export const NOOP_OBSERVER: ProxyObserver = {
  requestFinished: () => undefined,
  tunnelOpened: () => undefined,
  tunnelClosed: () => undefined,
  upgradeFailed: () => undefined,
};
