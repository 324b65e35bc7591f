/**
 * The health states and the body of `GET /v1/health` (server-discovery page, "Health
 * Check"): what a server publishes and what a client reads.
 */

/** Fully operational. `/v1/health` answers 200. */
export const HEALTHY = 'healthy';
/** Operational with issues. Still 200. */
export const DEGRADED = 'degraded';
/** Not to be sent traffic. 503. */
export const UNHEALTHY = 'unhealthy';

/** One of the three health states. */
export type HealthStatus = typeof HEALTHY | typeof DEGRADED | typeof UNHEALTHY;

/** Every state, best first (for metrics that export one series per state). */
export const HEALTH_STATUSES: readonly HealthStatus[] = [HEALTHY, DEGRADED, UNHEALTHY];

/** The HTTP status a health answer carries for a state: load balancers go by it, not by the body. */
export function healthHttpStatus(status: HealthStatus): 200 | 503 {
  return status === UNHEALTHY ? 503 : 200;
}

/** The body `/v1/health` answers. */
export interface HealthBody {
  readonly status: HealthStatus;
  /** Unix seconds now (clients use it to check their clock). */
  readonly timestamp: number;
  /** The server software's version. */
  readonly version: string;
  /** Whole seconds since the server started. */
  readonly uptime: number;
  /** Why, whenever status is not `healthy`. */
  readonly details?: string;
}
