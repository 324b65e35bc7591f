import { collectDefaultMetrics, Registry } from 'prom-client';
import { DEFAULT_METRIC_MODULES, registerDefaultMetrics } from '../../../src/metrics/default-metrics';

describe('prom-client default metrics, module by module', () => {
  it('names every module of prom-client’s own list, and no other', () => {
    // The CLI bundle holds only the modules the table names: one missing here would be
    // required by path at run time, a second copy of prom-client beside the bundled one.
    expect(Object.keys(DEFAULT_METRIC_MODULES).sort()).toEqual([...collectDefaultMetrics.metricsList].sort());
  });

  it('registers the same series as collectDefaultMetrics', async () => {
    const ours = new Registry();
    registerDefaultMetrics(ours, { others: true, gcDurations: true });
    const theirs = new Registry();
    collectDefaultMetrics({ register: theirs });
    const names = async (r: Registry): Promise<string[]> => (await r.getMetricsAsJSON()).map((m) => m.name).sort();
    expect(await names(ours)).toEqual(await names(theirs));
    ours.clear();
    theirs.clear();
  });

  it('leaves out the GC histogram alone when told', async () => {
    const registry = new Registry();
    registerDefaultMetrics(registry, { others: true, gcDurations: false });
    const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
    expect(names).not.toContain('nodejs_gc_duration_seconds');
    expect(names).toContain('process_cpu_seconds_total');
    registry.clear();
  });
});
