import { UNHEALTHY } from '../protocol/health';
import type { HealthSource } from './handler';
import { REASON_SHUTTING_DOWN, type HealthState } from './states';

/**
 * The health a gateway publishes at `/v1/health`: the upstream's verdict, until shutdown
 * begins; from then on `unhealthy`, "shutting down", for good, so load balancers take the
 * gateway out. Shutting down is the gateway's state, not a verdict on the upstream: the
 * tracker, fail-fast, `upstream_status` and the status events never hear of it, so a
 * rolling restart neither pages for a healthy upstream nor refuses the drain's traffic.
 */
export class PublishedHealth implements HealthSource {
  private shutdown: HealthState | undefined;

  /**
   * @param upstream the upstream's verdict (the tracker)
   * @param now clock in ms for `since`. @default Date.now
   */
  constructor(
    private readonly upstream: HealthSource,
    private readonly now: () => number = Date.now,
  ) {}

  get current(): HealthState {
    return this.shutdown ?? this.upstream.current;
  }

  /** From now on, "shutting down". Idempotent. */
  beginShutdown(): void {
    this.shutdown ??= { status: UNHEALTHY, reason: REASON_SHUTTING_DOWN, since: this.now() };
  }
}
