import { collectDefaultMetrics, type Registry } from 'prom-client';

/** One of prom-client's default-metric modules: registers its series in a registry. */
type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/** prom-client's name of the module behind `nodejs_gc_duration_seconds`. */
const GC_MODULE = 'gc';

/* eslint-disable @typescript-eslint/no-require-imports -- prom-client exports the list, not the modules */
/**
 * prom-client's default-metric modules by the names of its `metricsList`, each required by
 * a literal path: a bundler (the CLI's single-file build, scripts/bundle-cli.js) can only
 * include a module it can see by name. test/unit/default-metrics.test.ts holds this table
 * to prom-client's own list, so an upgrade that changes the list fails there.
 */
export const DEFAULT_METRIC_MODULES: Readonly<Record<string, () => DefaultMetric>> = {
  processCpuTotal: () => require('prom-client/lib/metrics/processCpuTotal') as DefaultMetric,
  processStartTime: () => require('prom-client/lib/metrics/processStartTime') as DefaultMetric,
  osMemoryHeap: () => require('prom-client/lib/metrics/osMemoryHeap') as DefaultMetric,
  processOpenFileDescriptors: () => require('prom-client/lib/metrics/processOpenFileDescriptors') as DefaultMetric,
  processMaxFileDescriptors: () => require('prom-client/lib/metrics/processMaxFileDescriptors') as DefaultMetric,
  eventLoopLag: () => require('prom-client/lib/metrics/eventLoopLag') as DefaultMetric,
  processResources: () => require('prom-client/lib/metrics/processResources') as DefaultMetric,
  processHandles: () => require('prom-client/lib/metrics/processHandles') as DefaultMetric,
  processRequests: () => require('prom-client/lib/metrics/processRequests') as DefaultMetric,
  heapSizeAndUsed: () => require('prom-client/lib/metrics/heapSizeAndUsed') as DefaultMetric,
  heapSpacesSizeAndUsed: () => require('prom-client/lib/metrics/heapSpacesSizeAndUsed') as DefaultMetric,
  version: () => require('prom-client/lib/metrics/version') as DefaultMetric,
  gc: () => require('prom-client/lib/metrics/gc') as DefaultMetric,
};
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Registers prom-client's default metrics: the `process_*` and `nodejs_*` series of
 * `collectDefaultMetrics`, with or without its GC histogram (`nodejs_gc_duration_seconds`).
 *
 * That histogram is fed by a `PerformanceObserver` on V8's collections: V8 then reports
 * every young-generation collection to Node, which makes each one slower (0.096 → 0.136 ms
 * in a bare server) and costs a JavaScript callback. With the image's 2 MiB semi-spaces a
 * proxy collects a few hundred times a second: 2 µs per proxied small GET, 0.8 µs per
 * discovery answer (bench/cpu-ab.js). The other default metrics cost nothing between scrapes.
 * `collectDefaultMetrics` has no switch for it, so the modules are registered one by one,
 * from prom-client's own list.
 */
export function registerDefaultMetrics(registry: Registry, options: { others: boolean; gcDurations: boolean }): void {
  const config = { eventLoopMonitoringPrecision: 10 };
  for (const name of collectDefaultMetrics.metricsList) {
    if (!(name === GC_MODULE ? options.gcDurations : options.others)) continue;
    const register = Object.hasOwn(DEFAULT_METRIC_MODULES, name) ? DEFAULT_METRIC_MODULES[name]?.() : undefined;
    // A name of a newer prom-client, not in the table: by its path (the bundle has no copy of it).
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- see DEFAULT_METRIC_MODULES
    (register ?? (require(`prom-client/lib/metrics/${name}`) as DefaultMetric))(registry, config);
  }
}
