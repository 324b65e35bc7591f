import type { Registry } from 'prom-client';

/** Metric-name prefixes of the gateway's registry: its own metrics and prom-client's defaults. */
const PREFIXES = ['cryptid_gateway_', 'process_', 'nodejs_'];

/** The metric names a PromQL expression mentions that belong to the gateway's registry. */
export function metricNamesIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
  const names = new Set<string>();
  for (const token of withoutStrings.match(/[a-zA-Z_:][a-zA-Z0-9_:]*/g) ?? []) {
    if (PREFIXES.some((p) => token.startsWith(p))) names.add(token);
  }
  return [...names];
}

/** Every series name a registry can export: each metric, plus `_bucket/_sum/_count` for histograms and summaries. */
export async function exportableNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    const type = String(metric.type);
    if (type === 'histogram' || type === 'summary') {
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}
