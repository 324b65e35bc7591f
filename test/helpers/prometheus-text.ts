/**
 * A small parser of the Prometheus text exposition format (version 0.0.4), enough to read
 * back what the gateway exports: `# HELP`, `# TYPE`, and samples with escaped label values.
 * It throws on anything it does not understand, so a malformed exposition fails the test.
 */

export interface Sample {
  /** The sample's own name (`…_bucket`, `…_sum`, `…_count` for histograms). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: string;
  help: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Values as Prometheus reads them (Go's ParseFloat: `Inf`, `NaN` in any case; prom-client writes `Nan`). */
function parseValue(text: string): number {
  if (/^\+?inf$/i.test(text)) return Infinity;
  if (/^-inf$/i.test(text)) return -Infinity;
  if (/^nan$/i.test(text)) return NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(text)}`);
  return n;
}

function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let s = text.slice(1); // after "{"
  for (;;) {
    s = s.trimStart();
    if (s.startsWith('}')) return { labels, rest: s.slice(1) };
    const name = LABEL_NAME.exec(s)?.[0];
    if (name === undefined || s[name.length] !== '=' || s[name.length + 1] !== '"') throw new Error(`bad label in: ${line}`);
    let i = name.length + 2;
    let value = '';
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[i + 1];
        if (e === 'n') value += '\n';
        else if (e === '\\' || e === '"') value += e;
        else throw new Error(`bad escape in: ${line}`);
        i += 2;
      } else {
        value += c;
        i += 1;
      }
    }
    if (name in labels) throw new Error(`duplicate label ${name} in: ${line}`);
    labels[name] = value;
    s = s.slice(i + 1).trimStart();
    if (s.startsWith(',')) s = s.slice(1);
    else if (!s.startsWith('}')) throw new Error(`bad label list in: ${line}`);
  }
}

/** The family a sample belongs to: its name, less a histogram or summary suffix. */
function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const direct = families.get(sampleName);
  if (direct) return direct;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (sampleName.endsWith(suffix)) {
      const family = families.get(sampleName.slice(0, -suffix.length));
      if (family && (family.type === 'histogram' || family.type === 'summary')) return family;
    }
  }
  return undefined;
}

/** Parses an exposition into its families, by name. Samples without a `# TYPE` are an error. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const get = (name: string): MetricFamily => {
    let family = families.get(name);
    if (!family) {
      family = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, family);
    }
    return family;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ?(.*)$/.exec(line);
      if (!m) continue; // a plain comment
      const family = get(m[2] as string);
      if (m[1] === 'TYPE') family.type = m[3] as string;
      else family.help = (m[3] as string).replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      continue;
    }
    const name = NAME.exec(line)?.[0];
    if (name === undefined) throw new Error(`bad sample line: ${line}`);
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) ({ labels, rest } = parseLabels(rest, line));
    const [valueText, timestamp, extra] = rest.trim().split(/\s+/);
    if (valueText === undefined || extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) {
      throw new Error(`bad sample line: ${line}`);
    }
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample without a # TYPE: ${line}`);
    family.samples.push({ name, labels, value: parseValue(valueText) });
  }
  return families;
}

/** Total number of samples (series) in the parsed exposition, optionally only families matching `prefix`. */
export function seriesCount(families: Map<string, MetricFamily>, prefix = ''): number {
  let n = 0;
  for (const family of families.values()) if (family.name.startsWith(prefix)) n += family.samples.length;
  return n;
}

/** The value of the one sample named `name` whose labels include `labels`; undefined if none, throws if several. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  const found: Sample[] = [];
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) found.push(sample);
    }
  }
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value;
}
