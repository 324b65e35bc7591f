import type { GatewayMetrics } from './metrics/metrics';
import { routeOf } from './protocol/routes';
import type { RateLimitObserver } from './rate-limit/observer';

/**
 * Feeds what the rate limiter reports to the metrics. Requests it answers itself count like
 * every other answer (by route template, never the raw path) and as rejected requests.
 */
export class RateLimitMetrics implements RateLimitObserver {
  /** Cleared by `retire`: a closing store's last state changes no longer reach the metrics. */
  private current = true;

  constructor(
    private readonly metrics: GatewayMetrics,
    private readonly store: 'memory' | 'redis',
  ) {}

  /** Rate limits were turned off (a reload): the store's series goes, and stays gone. */
  retire(): void {
    this.current = false;
    this.metrics.clearRateLimitStoreUp();
  }

  rulesChanged(names: readonly string[]): void {
    this.metrics.setRateLimitRules(names);
  }

  limited(rule: string): void {
    this.metrics.rateLimited(rule);
  }

  storeError(): void {
    this.metrics.rateLimitStoreError();
  }

  storeState(up: boolean): void {
    if (this.current) this.metrics.setRateLimitStoreUp(this.store, up);
  }

  answered(method: string | undefined, path: string, status: number, seconds: number): void {
    this.metrics.observeRequest(method, routeOf(method ?? 'GET', path), status, seconds);
    if (status === 429) this.metrics.rejected('rate_limited');
    else if (status !== 0) this.metrics.rejected('rate_limit_store_unavailable');
  }
}
