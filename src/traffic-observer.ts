import type { HealthTracker } from './health/tracker';
import type { GatewayMetrics, RejectLabel } from './metrics/metrics';
import { routeOf } from './protocol/routes';
import type { ProxyObserver, Rejection, RequestOutcome, UpgradeFailure } from './proxy/observer';

/** The metrics label of each way the gateway answers a request itself. */
const REJECT_LABELS: Readonly<Record<Rejection, RejectLabel>> = {
  tooLarge: 'body_too_large',
  federationDisabled: 'federation_disabled',
  failFast: 'fail_fast',
  closed: 'shutting_down',
  bodyAlreadyRead: 'body_already_read',
  badRequest: 'bad_request',
  methodNotAllowed: 'method_not_allowed',
  notImplemented: 'not_implemented',
  headerNotForwardable: 'header_not_forwardable',
};

/** Upstream answers that mean "the upstream is in trouble" (passive signals). */
function isUpstreamErrorStatus(status: number): boolean {
  return status === 502 || status === 503 || status === 504;
}

/**
 * Feeds what the proxy sees to the health tracker and the metrics: the one place that
 * decides which outcomes count against the upstream. Client aborts, 4xx answers and
 * requests the gateway refused itself (body too large, federation, fail-fast) never do.
 */
export class TrafficObserver implements ProxyObserver {
  constructor(
    private readonly tracker: HealthTracker,
    private readonly metrics: GatewayMetrics,
  ) {}

  requestFinished(o: RequestOutcome): void {
    this.metrics.observeRequest(o.method, routeOf(o.method, o.path), o.status, o.durationMs / 1000);
    if (o.rejected !== null) {
      this.metrics.rejected(REJECT_LABELS[o.rejected]);
      return;
    }
    if (o.failure !== null) {
      this.metrics.upstreamError(o.failure);
      // No response headers: the upstream could not be reached or did not answer in time.
      const beforeHeaders = o.upstreamLatencyMs === null;
      this.tracker.recordRequest({
        upstreamFailure: true,
        connectionFailure: beforeHeaders,
        ...(beforeHeaders ? {} : { latencyMs: o.upstreamLatencyMs! }),
      });
      return;
    }
    if (o.upstreamLatencyMs === null) return; // the client left before the upstream answered
    this.tracker.recordRequest({ upstreamFailure: isUpstreamErrorStatus(o.status), latencyMs: o.upstreamLatencyMs });
  }

  tunnelOpened(): void {
    this.metrics.tunnelOpened();
  }

  tunnelClosed(): void {
    this.metrics.tunnelClosed();
  }

  upgradeFailed(reason: UpgradeFailure): void {
    if (reason === 'clientAborted' || reason === 'rejected') return;
    if (reason === 'upstreamRefusedUpgrade') {
      // A relayed 401 or 403 is the client's problem; the tracker counts only failures to reach the upstream.
      return;
    }
    this.metrics.upstreamError(reason);
    this.tracker.recordUpgradeFailure('connection');
  }
}
