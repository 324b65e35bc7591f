import type { ResolvedConfig } from './options';

/**
 * Keys a running gateway cannot take anew: the listeners and the certificate paths (sockets
 * are bound and watched at start), how the rate-limit store is reached (a live swap would
 * lose or split the counts every replica shares), the default metrics and the GC histogram
 * (registered once in the registry) and the log level (the logger is built at start). A key
 * below one of these (`rateLimits.redis.url`) is restart-only too.
 */
export const RESTART_ONLY_KEYS = [
  'listen',
  'tls.cert',
  'tls.key',
  'metrics.listen',
  'metrics.defaultMetrics',
  'metrics.gcDurations',
  'rateLimits.store',
  'rateLimits.redis',
  'rateLimits.onStoreError',
  'rateLimits.maxKeys',
  'logLevel',
] as const;

/** Those of the changed keys that need a restart. */
export function restartOnlyKeys(changed: readonly string[]): string[] {
  return changed.filter((key) => RESTART_ONLY_KEYS.some((root) => key === root || key.startsWith(`${root}.`)));
}

/** `next` with every restart-only key set back to its running value: what a reload that keeps them applies. */
export function keepRunning(running: ResolvedConfig, next: ResolvedConfig): ResolvedConfig {
  return {
    ...next,
    listen: running.listen,
    tls: running.tls,
    metrics: running.metrics,
    rateLimits: {
      ...next.rateLimits,
      store: running.rateLimits.store,
      redis: running.rateLimits.redis,
      onStoreError: running.rateLimits.onStoreError,
      maxKeys: running.rateLimits.maxKeys,
    },
    logLevel: running.logLevel,
  };
}
