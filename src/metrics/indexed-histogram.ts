import type { Metric, Registry, RegistryContentType } from 'prom-client';

/** One exported sample, in the shape a prom-client registry formats. */
interface Sample {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName?: string;
}

/** What a prom-client registry reads of a metric: it formats whatever `get()` returns. */
interface RegistryMetric {
  name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  get(): Promise<{ name: string; help: string; type: 'counter' | 'histogram'; aggregator: 'sum'; values: Sample[] }>;
  reset(): void;
}

/** Options of `IndexedHistogram`. */
export interface IndexedHistogramOptions {
  /** Metric name of the histogram. */
  readonly name: string;
  readonly help: string;
  /** Upper bounds, ascending, in the unit observed; `+Inf` is implied. */
  readonly buckets: readonly number[];
  /** How many label sets there are; series are addressed by index `0 … size - 1`. */
  readonly size: number;
  /** The label set of a series index (called once per series, when it is first exported). */
  readonly labelsOf: (index: number) => Readonly<Record<string, string>>;
  /** Also export each series' count as a counter of this name and help. */
  readonly counter?: { readonly name: string; readonly help: string };
}

/**
 * A histogram (and, optionally, the counter of the same events) over a closed set of
 * label sets addressed by index. Recording is array arithmetic: prom-client's own
 * Histogram and Counter hash the label set on every observation, which cost as much as
 * the rest of answering the discovery document. The registry reads the arrays at scrape
 * time, in the same text format prom-client's own histogram writes.
 */
export class IndexedHistogram {
  private readonly bounds: Float64Array;
  /**
   * Per series, made on its first observation (the label space is large, the series seen
   * are few): [count, sum, then the observations in each bucket only, made cumulative on
   * export]. `+Inf` is the count.
   */
  private rows: (Float64Array | undefined)[];
  /** Series observed at least once, in the order first seen (prom-client's export order). */
  private seen: number[] = [];
  private readonly labels: (Readonly<Record<string, string>> | undefined)[];

  constructor(private readonly options: IndexedHistogramOptions) {
    const { buckets, size } = options;
    for (let i = 1; i < buckets.length; i++) {
      if (!((buckets[i] as number) > (buckets[i - 1] as number))) throw new Error('histogram buckets must ascend');
    }
    this.bounds = Float64Array.from(buckets);
    this.rows = new Array<Float64Array | undefined>(size);
    this.labels = new Array<Readonly<Record<string, string>> | undefined>(size);
  }

  /** Records one observation of series `index`. Non-finite values are ignored (prom-client throws). */
  observe(index: number, value: number): void {
    if (!Number.isFinite(value)) return;
    const row = this.rows[index] ?? this.addRow(index);
    (row[0] as number)++;
    (row[1] as number) += value;
    const bounds = this.bounds;
    const n = bounds.length;
    let b = 0;
    while (b < n && value > (bounds[b] as number)) b++;
    // Above the last bound only `+Inf` (the count) holds it.
    if (b < n) (row[2 + b] as number)++;
  }

  /** Registers the histogram (and its counter) in `registry`; throws if a name is taken, as prom-client does. */
  register(registry: Registry<RegistryContentType>): void {
    const { name, help, counter } = this.options;
    // The counter first: the exposition order prom-client's own pair had.
    const metrics: RegistryMetric[] = counter ? [this.counterView(counter.name, counter.help)] : [];
    metrics.push(this.histogramView(name, help));
    for (const metric of metrics) {
      if (registry.getSingleMetric(metric.name)) throw new Error(`A metric with the name ${metric.name} has already been registered.`);
    }
    // The registry only calls get() and reset() and reads name, help, type and aggregator;
    // its typings name prom-client's own classes, hence the cast.
    for (const metric of metrics) registry.registerMetric(metric as unknown as Metric);
  }

  /** Forgets every observation (what `registry.resetMetrics()` does to prom-client's own metrics). */
  reset(): void {
    this.rows = new Array<Float64Array | undefined>(this.options.size);
    this.seen = [];
  }

  private addRow(index: number): Float64Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.options.size) throw new RangeError(`no series ${index}`);
    const row = new Float64Array(2 + this.bounds.length);
    this.rows[index] = row;
    this.seen.push(index);
    return row;
  }

  private labelsAt(index: number): Readonly<Record<string, string>> {
    return (this.labels[index] ??= this.options.labelsOf(index));
  }

  private histogramView(name: string, help: string): RegistryMetric {
    const reset = (): void => this.reset();
    const values = (metricName: string): Sample[] => this.histogramSamples(metricName);
    return {
      name,
      help,
      type: 'histogram',
      aggregator: 'sum',
      async get() {
        return { name: this.name, help, type: 'histogram', aggregator: 'sum', values: values(this.name) };
      },
      reset,
    };
  }

  private counterView(name: string, help: string): RegistryMetric {
    const reset = (): void => this.reset();
    const values = (): Sample[] => this.seen.map((i) => ({ value: this.rowAt(i)[0] as number, labels: this.labelsAt(i) }));
    return {
      name,
      help,
      type: 'counter',
      aggregator: 'sum',
      async get() {
        return { name: this.name, help, type: 'counter', aggregator: 'sum', values: values() };
      },
      reset,
    };
  }

  private rowAt(index: number): Float64Array {
    return this.rows[index] as Float64Array;
  }

  private histogramSamples(name: string): Sample[] {
    const out: Sample[] = [];
    const n = this.bounds.length;
    const bucketName = `${name}_bucket`;
    for (const i of this.seen) {
      const labels = this.labelsAt(i);
      const row = this.rowAt(i);
      let cumulative = 0;
      for (let b = 0; b < n; b++) {
        cumulative += row[2 + b] as number;
        out.push({ value: cumulative, labels: { le: this.bounds[b] as number, ...labels }, metricName: bucketName });
      }
      out.push({ value: row[0] as number, labels: { le: '+Inf', ...labels }, metricName: bucketName });
      out.push({ value: row[1] as number, labels, metricName: `${name}_sum` });
      out.push({ value: row[0] as number, labels, metricName: `${name}_count` });
    }
    return out;
  }
}
