import { STATUS_CODES } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { DOCUMENT_DEFAULTS } from '../protocol/document';
import { HEALTH_STATUSES, type HealthStatus } from '../protocol/health';
import { NETWORK_FAILURES, type NetworkFailure } from '../net/failure';
import type { PoolStats } from '../net/pool-stats';
import { DEFAULTS } from '../config/defaults';
import { PACKAGE_VERSION } from '../version';
import { IndexedHistogram } from './indexed-histogram';
import { registerDefaultMetrics } from './default-metrics';
import { ROUTES, type RouteLabel } from '../protocol/routes';

/**
 * Every metric of the gateway, declared once, here. Label values all come from
 * closed sets, so the number of series is bounded whatever the traffic looks like.
 */

/** The upstream's health as the gateway reports it: the `status` label values. */
export const UPSTREAM_STATES: readonly HealthStatus[] = HEALTH_STATUSES;

/** Outcome of one active probe (`degraded`: a success whose body says `degraded`). */
export type ProbeResultLabel = 'success' | 'degraded' | 'failure';
/** Every `result` label value of the probe counter. */
export const PROBE_RESULTS: readonly ProbeResultLabel[] = ['success', 'degraded', 'failure'];

/** Outcome of one fetch of the upstream's discovery document (`discovery.source: upstream`). */
export type DiscoveryRefreshLabel = 'ok' | 'invalid' | 'unreachable';
/** Every `result` label value of the discovery refresh counter. */
export const DISCOVERY_REFRESH_RESULTS: readonly DiscoveryRefreshLabel[] = ['ok', 'invalid', 'unreachable'];

/** Why a proxied request got no answer from the upstream: the `reason` label values, the proxy's failure kinds. */
export const UPSTREAM_ERROR_REASONS: readonly NetworkFailure[] = NETWORK_FAILURES;

/** Why the gateway answered a request itself instead of forwarding it: the `reason` label values. */
export type RejectLabel =
  | 'body_too_large'
  | 'federation_disabled'
  | 'fail_fast'
  | 'shutting_down'
  | 'body_already_read'
  | 'bad_request'
  | 'method_not_allowed'
  | 'not_implemented'
  | 'header_not_forwardable'
  | 'rate_limited'
  | 'rate_limit_store_unavailable';
/** Every `reason` label value of the rejected-requests counter. */
export const REJECT_REASONS: readonly RejectLabel[] = [
  'body_too_large',
  'federation_disabled',
  'fail_fast',
  'shutting_down',
  'body_already_read',
  'bad_request',
  'method_not_allowed',
  'not_implemented',
  'header_not_forwardable',
  'rate_limited',
  'rate_limit_store_unavailable',
];

/**
 * prom-client's default metrics include three gauges named `*_total`, which only counters
 * may be (Prometheus naming; `promtool check metrics` flags them). They are the sums of
 * `nodejs_active_handles`, `nodejs_active_requests` and `nodejs_active_resources`, which
 * stay, labelled by type: `sum()` over those gives the same number. A registry a library
 * user passes in with the default metrics already collected is left as it is.
 */
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'] as const;

/** Methods of RFC 9110 §9 and PATCH (RFC 5789); any other method is labelled `OTHER`. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'CONNECT', 'TRACE', 'OTHER'] as const;

/**
 * Request duration buckets, in seconds. A proxied request spans the upstream's own work:
 * sub-millisecond for the gateway's own answers, tens of milliseconds for a typical
 * send, seconds for a 14 MiB message body on a slow link, and up to `proxy.timeoutMs`
 * (30 s by default) for a timeout. 2 s is the passive health check's p95 threshold, so
 * that crossing it is visible from the histogram alone; 60 s catches a raised timeout.
 */
export const REQUEST_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60];

/** Probe duration buckets, in seconds: a probe is a small GET, aborted after `probe.timeoutMs` (2 s by default). */
export const PROBE_DURATION_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10];

/** The names of the gateway's own metrics, as exported. */
export const METRIC_NAMES = {
  requests: 'cryptid_gateway_http_requests_total',
  requestDuration: 'cryptid_gateway_http_request_duration_seconds',
  upstreamStatus: 'cryptid_gateway_upstream_status',
  stateTransitions: 'cryptid_gateway_upstream_state_transitions_total',
  probes: 'cryptid_gateway_upstream_probes_total',
  probeDuration: 'cryptid_gateway_upstream_probe_duration_seconds',
  upstreamErrors: 'cryptid_gateway_upstream_errors_total',
  upstreamSockets: 'cryptid_gateway_upstream_sockets',
  websocketConnections: 'cryptid_gateway_websocket_connections',
  rejected: 'cryptid_gateway_rejected_requests_total',
  certificateExpiry: 'cryptid_gateway_certificate_expiry_timestamp_seconds',
  buildInfo: 'cryptid_gateway_build_info',
  configReloads: 'cryptid_gateway_config_reloads_total',
  rateLimited: 'cryptid_gateway_rate_limited_total',
  rateLimitStoreErrors: 'cryptid_gateway_rate_limit_store_errors_total',
  rateLimitStoreUp: 'cryptid_gateway_rate_limit_store_up',
  discoveryRefreshes: 'cryptid_gateway_discovery_refreshes_total',
  discoveryLastSuccess: 'cryptid_gateway_discovery_last_success_timestamp_seconds',
} as const;

/**
 * How a configuration reload ended: `applied` (something changed), `unchanged` (same
 * configuration), `partial` (applied, but restart-only keys were kept at their running
 * value), `rejected` (invalid, or refused whole: the running configuration stays).
 */
export const RELOAD_RESULTS = ['applied', 'unchanged', 'partial', 'rejected'] as const;

/** One of {@link RELOAD_RESULTS}. */
export type ReloadResultLabel = (typeof RELOAD_RESULTS)[number];

/** Options of `GatewayMetrics`. */
export interface GatewayMetricsOptions {
  /** Registry to register in. @default a new registry of the gateway's own (never the global one) */
  registry?: Registry;
  /** Also export prom-client's `process_*` and `nodejs_*` metrics, but for its GC histogram. @default true */
  defaultMetrics?: boolean;
  /**
   * Also export `nodejs_gc_duration_seconds`, prom-client's histogram of V8's collections.
   * Off by default: observing every collection costs about 2 µs per proxied request.
   * @default false
   */
  gcDurations?: boolean;
  /** `version` label of `cryptid_gateway_build_info`. @default the package version */
  version?: string;
  /** `protocol_version` label of `cryptid_gateway_build_info`. @default "1.0" */
  protocolVersion?: string;
}

const METHOD_INDEX: ReadonlyMap<string, number> = new Map(METHODS.map((m, i) => [m, i]));
const OTHER_METHOD = METHODS.length - 1;
const ROUTE_INDEX: ReadonlyMap<string, number> = new Map(ROUTES.map((r, i) => [r, i]));
const OTHER_ROUTE = ROUTE_INDEX.get('other') as number;

/**
 * `status_code` label values: every code Node knows by name keeps its number; another
 * code in 100–599 becomes its class (`4xx`); anything else (0 for "no response") `other`.
 */
const STATUS_LABELS: readonly string[] = [...Object.keys(STATUS_CODES).filter((c) => Number(c) >= 100 && Number(c) <= 599), '1xx', '2xx', '3xx', '4xx', '5xx', 'other'];
const OTHER_STATUS = STATUS_LABELS.length - 1;
/** Status code (0–599) → index into `STATUS_LABELS`. */
const STATUS_SLOT: Uint16Array = (() => {
  const slots = new Uint16Array(600).fill(OTHER_STATUS);
  for (let code = 100; code <= 599; code++) {
    const named = STATUS_LABELS.indexOf(String(code));
    slots[code] = named === -1 ? STATUS_LABELS.indexOf(`${Math.floor(code / 100)}xx`) : named;
  }
  return slots;
})();

/** The request series index of a (method, route, status) triple of indices. */
function requestSeriesIndex(method: number, route: number, status: number): number {
  return (method * ROUTES.length + route) * STATUS_LABELS.length + status;
}

/** The labels of a request series index (the inverse of `requestSeriesIndex`). */
function requestSeriesLabels(index: number): Record<string, string> {
  const status = index % STATUS_LABELS.length;
  const rest = (index - status) / STATUS_LABELS.length;
  const route = rest % ROUTES.length;
  const method = (rest - route) / ROUTES.length;
  return { method: METHODS[method] as string, route: ROUTES[route] as string, status_code: STATUS_LABELS[status] as string };
}

/**
 * The gateway's metrics, and the only way the rest of the code records them. Recording
 * a request is array arithmetic (`IndexedHistogram`): no label objects or keys are built
 * per request.
 */
export class GatewayMetrics {
  /** The registry everything is registered in; serve it with `createMetricsHandler`. */
  readonly registry: Registry;

  /** Requests by (method, route, status): their count and duration, one series per index. */
  private readonly requests: IndexedHistogram;
  private readonly health: HealthSeries;
  private readonly proxy: ProxySeries;
  private readonly server: ServerSeries;
  private readonly limits: RateLimitSeries;
  private readonly discovery: DiscoverySeries;
  private openTunnels = 0;
  private readonly pools = new Set<PoolStats>();

  constructor(options: GatewayMetricsOptions = {}) {
    const registry = options.registry ?? new Registry();
    this.registry = registry;
    this.requests = requestSeries(registry);
    this.health = healthSeries(registry);
    this.proxy = proxySeries(registry, this.pools);
    this.server = serverSeries(registry);
    this.limits = rateLimitSeries(registry);
    this.discovery = discoverySeries(registry);
    this.setBuildInfo(options.version ?? PACKAGE_VERSION, options.protocolVersion ?? DOCUMENT_DEFAULTS.protocol_version);
    // A registry a library user passes in may already carry the default metrics.
    const others = (options.defaultMetrics ?? DEFAULTS.metrics.defaultMetrics) && registry.getSingleMetric('process_cpu_user_seconds_total') === undefined;
    const gcDurations = (options.gcDurations ?? DEFAULTS.metrics.gcDurations) && registry.getSingleMetric('nodejs_gc_duration_seconds') === undefined;
    registerDefaultMetrics(registry, { others, gcDurations });
    if (others) for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }

  /**
   * Records one answered request: counted, and its duration observed.
   * @param method the request method; outside the standard set it is labelled `OTHER`
   * @param route from `routeOf`
   * @param statusCode the status sent; see `statusCodeLabel` for how it is labelled
   * @param seconds from the request's arrival to the end of the response
   */
  observeRequest(method: string | undefined, route: RouteLabel, statusCode: number, seconds: number): void {
    const m = (method === undefined ? undefined : METHOD_INDEX.get(method)) ?? OTHER_METHOD;
    const r = ROUTE_INDEX.get(route) ?? OTHER_ROUTE;
    this.requests.observe(requestSeriesIndex(m, r, statusSlot(statusCode)), seconds);
  }

  /** Sets the reported upstream state: its series to 1, the others to 0. */
  setUpstreamStatus(status: HealthStatus): void {
    for (let i = 0; i < UPSTREAM_STATES.length; i++) {
      (this.health.status[i] as Gauge.Internal<'status'>).set(UPSTREAM_STATES[i] === status ? 1 : 0);
    }
  }

  /** Counts one change of the upstream state (a change to the same state is not one). */
  stateTransition(from: HealthStatus, to: HealthStatus): void {
    if (from === to) return;
    this.health.transitions[UPSTREAM_STATES.indexOf(from)]?.[UPSTREAM_STATES.indexOf(to)]?.inc();
  }

  /** Records one active probe and how long it took. */
  probe(result: ProbeResultLabel, seconds: number): void {
    this.health.probes.get(result)?.inc();
    this.health.probeDuration.observe(seconds);
  }

  /** Counts one proxied request that got no response from the upstream. */
  upstreamError(reason: NetworkFailure): void {
    (this.proxy.errors.get(reason) ?? this.proxy.errors.get('other'))?.inc();
  }

  /** Counts one request the gateway answered itself instead of forwarding it. */
  rejected(reason: RejectLabel): void {
    this.proxy.rejected.get(reason)?.inc();
  }

  /** The rate-limit rules in force, by name: each gets its series of refusals, from 0. Names are configuration, a closed set. */
  setRateLimitRules(names: readonly string[]): void {
    for (const name of names) {
      if (!this.limits.limited.has(name)) this.limits.limited.set(name, zeroed(this.limits.limitedCounter.labels(name)));
    }
  }

  /** Counts one request refused by a rate-limit rule. */
  rateLimited(rule: string): void {
    this.limits.limited.get(rule)?.inc();
  }

  /** Counts one rate-limit check the shared store did not answer. */
  rateLimitStoreError(): void {
    this.limits.storeErrors.inc();
  }

  /** Whether the rate-limit store answers: one series, labelled with the store in use. */
  setRateLimitStoreUp(store: 'memory' | 'redis', up: boolean): void {
    this.limits.storeUp.labels(store).set(up ? 1 : 0);
  }

  /** Rate limits were turned off: no store, so no `rate_limit_store_up` series (as when they were never on). */
  clearRateLimitStoreUp(): void {
    this.limits.storeUp.reset();
  }

  /** Counts one fetch of the upstream's discovery document; a valid one also sets the time of the last success. */
  discoveryRefresh(result: DiscoveryRefreshLabel, unixSeconds: number): void {
    this.discovery.refreshes.get(result)?.inc();
    if (result === 'ok') this.discovery.lastSuccess.set(unixSeconds);
  }

  /** A WebSocket tunnel was established. */
  tunnelOpened(): void {
    this.proxy.websocketConnections.set(++this.openTunnels);
  }

  /** A WebSocket tunnel ended. Never goes below zero, so a double close cannot skew the gauge. */
  tunnelClosed(): void {
    if (this.openTunnels > 0) this.proxy.websocketConnections.set(--this.openTunnels);
  }

  /** Publishes the served certificate's expiry (call at start and after every reload). */
  setCertificateExpiry(unixSeconds: number): void {
    this.server.certificateExpiry.set(unixSeconds);
  }

  /** Sets the single `cryptid_gateway_build_info` series (replacing any previous one). */
  setBuildInfo(version: string, protocolVersion: string): void {
    this.server.buildInfo.reset();
    this.server.buildInfo.labels(version, protocolVersion).set(1);
  }

  /** Counts one configuration reload by how it ended. */
  configReload(result: ReloadResultLabel): void {
    this.server.configReloads.get(result)?.inc();
  }

  /**
   * Reports the sockets of an upstream keep-alive pool, read at scrape time.
   * @returns a function that stops watching it
   */
  watchPool(pool: PoolStats): () => void {
    this.pools.add(pool);
    return () => {
      this.pools.delete(pool);
    };
  }
}

/** The request counter and duration histogram, one series per (method, route, status) index. */
function requestSeries(registry: Registry): IndexedHistogram {
  const requests = new IndexedHistogram({
    name: METRIC_NAMES.requestDuration,
    help: 'Time from request to the end of the response, by method, route template and status code.',
    buckets: REQUEST_DURATION_BUCKETS,
    size: METHODS.length * ROUTES.length * STATUS_LABELS.length,
    labelsOf: requestSeriesLabels,
    counter: { name: METRIC_NAMES.requests, help: 'Requests the gateway answered, by method, route template and status code.' },
  });
  requests.register(registry);
  return requests;
}

/** The upstream's health: its state, the changes of state, and the probes. */
interface HealthSeries {
  /** One child per state, in `UPSTREAM_STATES` order. */
  readonly status: readonly Gauge.Internal<'status'>[];
  /** `[from][to]`, in `UPSTREAM_STATES` order. */
  readonly transitions: readonly (readonly Counter.Internal[])[];
  readonly probes: ReadonlyMap<string, Counter.Internal>;
  readonly probeDuration: Histogram;
}

function healthSeries(registry: Registry): HealthSeries {
  const registers = [registry];
  const upstreamStatus = new Gauge({
    name: METRIC_NAMES.upstreamStatus,
    help: 'The upstream health state the gateway reports: 1 for the current state, 0 for the others.',
    labelNames: ['status'],
    registers,
  });
  const status = UPSTREAM_STATES.map((state) => upstreamStatus.labels(state));
  for (const child of status) child.set(0);
  const transitionCounter = new Counter({
    name: METRIC_NAMES.stateTransitions,
    help: 'Changes of the upstream health state, by previous and new state.',
    labelNames: ['from', 'to'],
    registers,
  });
  const transitions = UPSTREAM_STATES.map((from) =>
    UPSTREAM_STATES.map((to) => {
      const child = transitionCounter.labels(from, to);
      if (from !== to) child.inc(0);
      return child;
    }),
  );
  const probeCounter = new Counter({ name: METRIC_NAMES.probes, help: 'Active health probes of the upstream, by result.', labelNames: ['result'], registers });
  const probeDuration = new Histogram({
    name: METRIC_NAMES.probeDuration,
    help: 'Duration of active health probes of the upstream.',
    buckets: [...PROBE_DURATION_BUCKETS],
    registers,
  });
  return { status, transitions, probes: zeroedChildren(probeCounter, PROBE_RESULTS), probeDuration };
}

/** What the proxy sees: upstream errors, refusals, tunnels, and the pool read at scrape time. */
interface ProxySeries {
  readonly errors: ReadonlyMap<string, Counter.Internal>;
  readonly rejected: ReadonlyMap<string, Counter.Internal>;
  readonly websocketConnections: Gauge;
}

function proxySeries(registry: Registry, pools: ReadonlySet<PoolStats>): ProxySeries {
  const registers = [registry];
  const errors = new Counter({
    name: METRIC_NAMES.upstreamErrors,
    help: 'Proxied requests that got no response from the upstream, by reason.',
    labelNames: ['reason'],
    registers,
  });
  new Gauge({
    name: METRIC_NAMES.upstreamSockets,
    help: 'Sockets of the keep-alive pool to the upstream: in use by a request, or free for reuse.',
    labelNames: ['state'],
    registers,
    collect() {
      let inUse = 0;
      let free = 0;
      for (const pool of pools) {
        inUse += pool.inUse();
        free += pool.free();
      }
      this.labels('in_use').set(inUse);
      this.labels('free').set(free);
    },
  });
  const websocketConnections = new Gauge({ name: METRIC_NAMES.websocketConnections, help: 'WebSocket tunnels currently open through the gateway.', registers });
  const rejected = new Counter({
    name: METRIC_NAMES.rejected,
    help: 'Requests the gateway answered itself instead of forwarding them, by reason.',
    labelNames: ['reason'],
    registers,
  });
  return { errors: zeroedChildren(errors, UPSTREAM_ERROR_REASONS), rejected: zeroedChildren(rejected, REJECT_REASONS), websocketConnections };
}

/** The serving side: certificate expiry and build information. */
interface ServerSeries {
  readonly certificateExpiry: Gauge;
  readonly buildInfo: Gauge<'version' | 'protocol_version'>;
  readonly configReloads: ReadonlyMap<string, Counter.Internal>;
}

function serverSeries(registry: Registry): ServerSeries {
  const registers = [registry];
  return {
    certificateExpiry: new Gauge({
      name: METRIC_NAMES.certificateExpiry,
      help: 'Expiry (notAfter) of the served TLS certificate, in Unix seconds; 0 while there is none.',
      registers,
    }),
    buildInfo: new Gauge({
      name: METRIC_NAMES.buildInfo,
      help: 'Always 1; labels carry the gateway version and the Cryptid protocol version it publishes.',
      labelNames: ['version', 'protocol_version'],
      registers,
    }),
    configReloads: zeroedChildren(
      new Counter({
        name: METRIC_NAMES.configReloads,
        help: 'Configuration reloads (reconfigure, SIGHUP, a changed file), by result: applied, unchanged, partial (restart-only keys kept), rejected.',
        labelNames: ['result'],
        registers,
      }),
      RELOAD_RESULTS,
    ),
  };
}

/** Rate limits: refusals by rule, checks the shared store did not answer, and whether it answers. */
interface RateLimitSeries {
  readonly limitedCounter: Counter<'rule'>;
  readonly limited: Map<string, Counter.Internal>;
  readonly storeErrors: Counter;
  readonly storeUp: Gauge<'store'>;
}

function rateLimitSeries(registry: Registry): RateLimitSeries {
  const registers = [registry];
  const limitedCounter = new Counter({
    name: METRIC_NAMES.rateLimited,
    help: 'Requests and WebSocket upgrades refused with 429 by a rate-limit rule, by rule name.',
    labelNames: ['rule'],
    registers,
  });
  const storeErrors = new Counter({
    name: METRIC_NAMES.rateLimitStoreErrors,
    help: 'Rate-limit checks the shared store did not answer in time (decided by onStoreError instead).',
    registers,
  });
  const storeUp = new Gauge({
    name: METRIC_NAMES.rateLimitStoreUp,
    help: 'Whether the rate-limit store answers checks: 1 yes, 0 no; labelled with the store (memory or redis). No series while rate limits are off.',
    labelNames: ['store'],
    registers,
  });
  return { limitedCounter, limited: new Map(), storeErrors, storeUp };
}

/** The upstream's discovery document (`discovery.source: upstream`): fetches by result, and the last valid one. */
interface DiscoverySeries {
  readonly refreshes: ReadonlyMap<string, Counter.Internal>;
  readonly lastSuccess: Gauge;
}

function discoverySeries(registry: Registry): DiscoverySeries {
  const registers = [registry];
  const refreshes = new Counter({
    name: METRIC_NAMES.discoveryRefreshes,
    help: "Fetches of the upstream's discovery document (discovery.source: upstream), by result: ok, invalid (an answer that is no valid document) or unreachable (no answer).",
    labelNames: ['result'],
    registers,
  });
  const lastSuccess = new Gauge({
    name: METRIC_NAMES.discoveryLastSuccess,
    help: "When the upstream's discovery document was last fetched valid, in Unix seconds; 0 before the first time (and always with discovery.source: config).",
    registers,
  });
  return { refreshes: zeroedChildren(refreshes, DISCOVERY_REFRESH_RESULTS), lastSuccess };
}

function zeroed(child: Counter.Internal): Counter.Internal {
  child.inc(0);
  return child;
}

/** The `status_code` label a status is recorded under. */
export function statusCodeLabel(statusCode: number): string {
  return STATUS_LABELS[statusSlot(statusCode)] as string;
}

function statusSlot(statusCode: number): number {
  // NaN fails both comparisons; fractions truncate.
  return statusCode >= 0 && statusCode < 600 ? (STATUS_SLOT[statusCode | 0] as number) : OTHER_STATUS;
}

/** The `method` label a request method is recorded under. */
export function methodLabel(method: string | undefined): string {
  return METHODS[(method === undefined ? undefined : METHOD_INDEX.get(method)) ?? OTHER_METHOD] as string;
}

function zeroedChildren<L extends string>(counter: Counter<L>, values: readonly string[]): ReadonlyMap<string, Counter.Internal> {
  // Counting from an explicit 0 lets rate() and increase() see the first event.
  return new Map(
    values.map((value) => {
      const child = counter.labels(value);
      child.inc(0);
      return [value, child];
    }),
  );
}
