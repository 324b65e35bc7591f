/**
 * The three health states of the upstream, as `/v1/health` reports them (server-discovery
 * page, "Health Check").
 */

/** Fully operational: probes succeed and the proxied traffic looks normal. `/v1/health` answers 200. */
export const HEALTHY = 'healthy';
/** Operational with issues: the upstream says so, a probe failed, or the traffic shows errors or slowness. 200. */
export const DEGRADED = 'degraded';
/** Not to be sent traffic: failed probes past the threshold, no probe answered yet, or shutting down. 503. */
export const UNHEALTHY = 'unhealthy';

/** One of the three health states. */
export type HealthStatus = typeof HEALTHY | typeof DEGRADED | typeof UNHEALTHY;

/** Every state, best first (for metrics that export one series per state). */
export const HEALTH_STATUSES: readonly HealthStatus[] = [HEALTHY, DEGRADED, UNHEALTHY];

/** The reason given while waiting for the first probe to answer. */
export const REASON_STARTING = 'waiting for the first probe';
/** The reason given once shutdown has begun. */
export const REASON_SHUTTING_DOWN = 'shutting down';

/**
 * The current verdict. A new object whenever status or reason changes, so holders can
 * compare by identity to know whether anything they prepared from it is stale.
 */
export interface HealthState {
  readonly status: HealthStatus;
  /** Human-readable why; `/v1/health` publishes it as `details` whenever status is not healthy. */
  readonly reason: string;
  /** When the status (not merely the reason) last changed, in the clock's milliseconds. */
  readonly since: number;
}

/** Emitted once per change of status (the `'status'` event). */
export interface StatusChange {
  readonly status: HealthStatus;
  readonly previous: HealthStatus;
  /** Why the status is what it now is. Never contains an upstream address. */
  readonly reason: string;
  /** When it changed, in the clock's milliseconds (`Date.now()` unless a clock was injected). */
  readonly at: number;
}
