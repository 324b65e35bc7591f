/**
 * What the rate limiter reports, for metrics: the gateway wires it to its metrics (the
 * limiter knows nothing of them). Calls are synchronous and must not throw. Rule names are
 * configuration (a closed set); no key, address or token is ever passed.
 */
export interface RateLimitObserver {
  /** The rules in force, by name (at start and whenever they change). */
  rulesChanged(names: readonly string[]): void;
  /** A request was refused by `rule` (once for each rule that refused it). */
  limited(rule: string): void;
  /** A check the shared store did not answer (failed, timed out, or the store is down): `onStoreError` decided it. */
  storeError(): void;
  /** The shared store became reachable (`true`) or not. */
  storeState(up: boolean): void;
  /**
   * An HTTP request the limiter answered itself (429, or 503 with `onStoreError: deny`), or
   * whose client left while it was being checked (status 0); forwarded requests are reported by the proxy.
   */
  answered(method: string | undefined, path: string, status: number, seconds: number): void;
}

/** An observer that ignores everything. */
export const NOOP_RATE_LIMIT_OBSERVER: RateLimitObserver = {
  rulesChanged: () => undefined,
  limited: () => undefined,
  storeError: () => undefined,
  storeState: () => undefined,
  answered: () => undefined,
};
