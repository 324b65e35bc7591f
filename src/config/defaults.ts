/**
 * Every default of the gateway, in one place. The README's options table is checked
 * against this object by a test (test/unit/config/readme-defaults.test.ts).
 * The discovery document's defaults live beside its schema (`DOCUMENT_DEFAULTS`).
 */
export const DEFAULTS = {
  listen: '0.0.0.0:8443',
  metrics: {
    /** Default for `serve`; library mode opens no listener unless one is set. */
    listen: '0.0.0.0:9464',
    defaultMetrics: true,
    /** prom-client's GC histogram observes every collection: about 2 µs per proxied request. */
    gcDurations: false,
  },
  discovery: { enabled: true, source: 'config', refreshMs: 300000 },
  health: {
    probe: { path: '/v1/health', intervalMs: 5000, timeoutMs: 2000, unhealthyThreshold: 3, healthyThreshold: 2 },
    passive: { windowMs: 60000, minRequests: 20, errorRate: 0.1, p95LatencyMs: 2000 },
  },
  proxy: { timeoutMs: 30000, failFast: false, maxBodyBytes: null, maxConnections: 512, engine: 'net', parsedBody: 'reject', paths: ['/'], trustedProxies: [] },
  rateLimits: {
    enabled: true,
    store: 'memory',
    /** `url` and `cluster` have no default: a shared store is named, never guessed. */
    redis: { url: null, cluster: null, keyPrefix: 'cryptid-gateway:', timeoutMs: 100 },
    onStoreError: 'allow',
    replicas: 1,
    maxKeys: 100000,
    /** `null`: the rules follow the discovery document's `rate_limits`. */
    rules: null,
  },
  shutdown: { drainDelayMs: 5000, timeoutMs: 30000 },
  logLevel: 'info',
} as const;

/** Body cap derived from the document: a message travels base64-encoded inside JSON. */
export function defaultMaxBodyBytes(maxMessageSize: number): number {
  return Math.ceil((maxMessageSize * 4) / 3) + 65536;
}

/** The shortest `discovery.refreshMs`: an upstream is not asked for its document more than once a second. */
export const MIN_REFRESH_MS = 1000;
