import type { HealthStatus } from '../protocol/health';

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
