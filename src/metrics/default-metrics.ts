import { collectDefaultMetrics, type Registry } from 'prom-client';

/** One of prom-client's default-metric modules: registers its series in a registry. */
type DefaultMetric = (registry: Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/** prom-client's name of the module behind `nodejs_gc_duration_seconds`. */
const GC_MODULE = 'gc';

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
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- prom-client exports the list, not the modules
    const register = require(`prom-client/lib/metrics/${name}`) as DefaultMetric;
    register(registry, config);
  }
}
