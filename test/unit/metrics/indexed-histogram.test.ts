import { Counter, Histogram, Registry, type RegistryContentType } from 'prom-client';
import { IndexedHistogram } from '../../../src/metrics/indexed-histogram';
import { parsePrometheusText, sampleValue } from '../../helpers/prometheus-text';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const LABEL_SETS = [
  { method: 'GET', route: '/a', status_code: '200' },
  { method: 'POST', route: '/b', status_code: '404' },
  { method: 'GET', route: 'other', status_code: '5xx' },
];

function indexed(registry: Registry<RegistryContentType>): IndexedHistogram {
  const h = new IndexedHistogram({
    name: 'demo_duration_seconds',
    help: 'Demo durations.',
    buckets: BUCKETS,
    size: LABEL_SETS.length,
    labelsOf: (i) => LABEL_SETS[i] as Record<string, string>,
    counter: { name: 'demo_requests_total', help: 'Demo requests.' },
  });
  h.register(registry);
  return h;
}

/** The same pair built from prom-client's own classes: the reference output. */
function reference(registry: Registry<RegistryContentType>): { counter: Counter<string>; histogram: Histogram<string> } {
  const labelNames = ['method', 'route', 'status_code'];
  return {
    counter: new Counter({ name: 'demo_requests_total', help: 'Demo requests.', labelNames, registers: [registry] }),
    histogram: new Histogram({ name: 'demo_duration_seconds', help: 'Demo durations.', labelNames, buckets: BUCKETS, registers: [registry] }),
  };
}

// Values on, between, below and above the bounds; 5 is above the last one (only +Inf holds it).
const OBSERVATIONS: [number, number][] = [
  [1, 0.0005],
  [0, 0.001],
  [0, 0.05],
  [1, 5],
  [0, 0.1],
  [0, 0.0101],
  [2, 1],
  [1, 0.0005],
  [0, 2.5],
];

describe('IndexedHistogram', () => {
  it('exports exactly what prom-client’s own Counter and Histogram export for the same observations', async () => {
    // Either content type: the test switches both to OpenMetrics below.
    const ours = new Registry<RegistryContentType>();
    const theirs = new Registry<RegistryContentType>();
    const h = indexed(ours);
    const ref = reference(theirs);
    for (const [i, v] of OBSERVATIONS) {
      h.observe(i, v);
      const labels = LABEL_SETS[i] as Record<string, string>;
      ref.counter.inc(labels);
      ref.histogram.observe(labels, v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client's own histogram samples carry an empty `exemplar` (null or undefined).
    const plain = (json: unknown): unknown => JSON.parse(JSON.stringify(json, (k, v: unknown) => (k === 'exemplar' && v == null ? undefined : v)));
    expect(plain(await ours.getMetricsAsJSON())).toEqual(plain(await theirs.getMetricsAsJSON()));

    for (const name of ['demo_requests_total', 'demo_duration_seconds']) {
      expect(await ours.getSingleMetricAsString(name)).toBe(await theirs.getSingleMetricAsString(name));
    }

    ours.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    theirs.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('exports nothing for a series never observed, and cumulative buckets for one that was', async () => {
    const registry = new Registry();
    const h = indexed(registry);
    h.observe(2, 0.005);
    h.observe(2, 0.5);
    const families = parsePrometheusText(await registry.metrics());
    expect(families.get('demo_duration_seconds')?.samples.every((s) => s.labels.route === 'other')).toBe(true);
    const labels = LABEL_SETS[2] as Record<string, string>;
    expect(sampleValue(families, 'demo_duration_seconds_bucket', { ...labels, le: '0.001' })).toBe(0);
    expect(sampleValue(families, 'demo_duration_seconds_bucket', { ...labels, le: '0.01' })).toBe(1);
    expect(sampleValue(families, 'demo_duration_seconds_bucket', { ...labels, le: '1' })).toBe(2);
    expect(sampleValue(families, 'demo_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(2);
    expect(sampleValue(families, 'demo_duration_seconds_sum', labels)).toBeCloseTo(0.505, 12);
    expect(sampleValue(families, 'demo_requests_total', labels)).toBe(2);
  });

  it('is emptied by registry.resetMetrics(), and counts again afterwards', async () => {
    const registry = new Registry();
    const h = indexed(registry);
    h.observe(0, 0.002);
    registry.resetMetrics();
    expect(parsePrometheusText(await registry.metrics()).get('demo_requests_total')?.samples ?? []).toEqual([]);
    h.observe(1, 0.002);
    const families = parsePrometheusText(await registry.metrics());
    expect(sampleValue(families, 'demo_requests_total', LABEL_SETS[1] as Record<string, string>)).toBe(1);
  });

  it('refuses a name already registered, and registers nothing then', () => {
    const registry = new Registry();
    new Histogram({ name: 'demo_duration_seconds', help: 'taken', registers: [registry] });
    expect(() => indexed(registry)).toThrow(/demo_duration_seconds has already been registered/);
    expect(registry.getSingleMetric('demo_requests_total')).toBeUndefined();
  });

  it('refuses an index outside its label space and ignores values that are not finite', async () => {
    const registry = new Registry();
    const h = indexed(registry);
    expect(() => h.observe(LABEL_SETS.length, 1)).toThrow(RangeError);
    expect(() => h.observe(-1, 1)).toThrow(RangeError);
    expect(() => h.observe(0.5, 1)).toThrow(RangeError);
    h.observe(0, Number.NaN);
    h.observe(0, Number.POSITIVE_INFINITY);
    expect(parsePrometheusText(await registry.metrics()).get('demo_requests_total')?.samples ?? []).toEqual([]);
  });

  it('refuses buckets that do not ascend', () => {
    expect(() => new IndexedHistogram({ name: 'x', help: 'x', buckets: [0.1, 0.1], size: 1, labelsOf: () => ({}) })).toThrow(/ascend/);
  });
});
