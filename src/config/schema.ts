import { isIP } from 'node:net';
import { z } from 'zod';
import { SERVER_NAME_EXPECTED, configuredDocumentSchema, documentOverridesSchema } from '../protocol/document';
import { DEFAULTS, MIN_REFRESH_MS } from './defaults';
import { parseListenAddress } from './listen-address';
import { rateLimitsSchema } from './rate-limit-schema';

const positiveInt = z.number({ error: 'expected a positive integer' }).int('expected a positive integer').positive('expected a positive integer');
const nonNegativeInt = z.number({ error: 'expected an integer ≥ 0' }).int('expected an integer ≥ 0').nonnegative('expected an integer ≥ 0');
const bool = z.boolean({ error: 'expected true or false' });

const listenAddress = z.union([z.string(), z.number()], { error: 'expected "host:port" or a port number' }).superRefine((value, ctx) => {
  const parsed = parseListenAddress(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const upstreamUrl = z.string({ error: 'expected an http(s) URL such as "http://127.0.0.1:8008"' }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'expected an http(s) URL such as "http://127.0.0.1:8008"' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `expected an http: or https: URL, got ${url.protocol}` });
  }
  // Cryptid routes start at "/" (no path prefix), so the upstream is an origin.
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    ctx.addIssue({ code: 'custom', message: 'expected an origin without path, query or fragment (Cryptid has no path prefix)' });
  }
  if (url.username || url.password) {
    ctx.addIssue({ code: 'custom', message: 'expected no credentials in the URL' });
  }
});

/**
 * A `proxy.paths` entry: a path prefix as it reads once decoded, so that it means the same
 * whichever way a request spells its path.
 */
const pathPrefix = z.string({ error: 'expected a path prefix such as "/v1/"' }).superRefine((value, ctx) => {
  const problem = pathPrefixProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

function pathPrefixProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'expected a path prefix starting with "/", such as "/v1/"';
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f?#%\\]/.test(value)) return 'expected a decoded path prefix: no spaces, control characters, "?", "#", "%" or backslashes';
  const segments = value.split('/').slice(1, value.endsWith('/') ? -1 : undefined);
  if (value !== '/' && segments.some((s) => s === '' || s === '.' || s === '..')) return 'expected a path prefix without empty, "." or ".." segments';
  return undefined;
}

/** A `proxy.trustedProxies` entry: an IPv4 or IPv6 address, or a CIDR block of either. */
const proxyAddress = z.string({ error: 'expected an IP address or a CIDR such as "10.0.0.0/8"' }).superRefine((value, ctx) => {
  const problem = proxyAddressProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

function proxyAddressProblem(value: string): string | undefined {
  const [address = '', prefix, extra] = value.split('/');
  // A zone id (fe80::1%eth0) names an interface of this host, not a peer.
  const family = extra !== undefined || address.includes('%') ? 0 : isIP(address);
  if (family === 0) return 'expected an IPv4 or IPv6 address, or a CIDR such as "10.0.0.0/8" or "fd00::/8"';
  const max = family === 6 ? 128 : 32;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max)) return `expected a prefix length from 0 to ${max} after "/"`;
  return undefined;
}

const filePath = z.string({ error: 'expected a file path' }).min(1, 'expected a file path');

const probePath = z.string({ error: 'expected a path starting with "/"' }).regex(/^\/[^\s#]*$/, 'expected a path starting with "/"');

/**
 * The `discovery` block. The `document` is parsed field by field (each field's own rules);
 * with `source: config` it must also name `server_name`, and gets the protocol's defaults;
 * with `source: upstream` it holds only the overrides given.
 */
const discoverySchema = z
  .strictObject(
    {
      enabled: bool.default(DEFAULTS.discovery.enabled),
      source: z.enum(['config', 'upstream'], { error: 'expected "config" or "upstream"' }).default(DEFAULTS.discovery.source),
      refreshMs: z
        .number({ error: `expected an integer ≥ ${MIN_REFRESH_MS} (milliseconds)` })
        .int(`expected an integer ≥ ${MIN_REFRESH_MS} (milliseconds)`)
        .min(MIN_REFRESH_MS, `expected an integer ≥ ${MIN_REFRESH_MS} (milliseconds)`)
        .default(DEFAULTS.discovery.refreshMs),
      document: documentOverridesSchema.optional(),
    },
    { error: 'expected an object with a "document" (server_name is required)' },
  )
  // Runs even when a sibling field failed: a bad refreshMs must not hide a missing server_name.
  .superRefine(
    (d, ctx) => {
      if (typeof d !== 'object' || d === null || d.source !== 'config') return;
      // A missing block counts as {}, so the report names server_name itself; a document that is no object is reported as such.
      const document: unknown = d.document ?? {};
      const unnamed = typeof document === 'object' && document !== null && !Array.isArray(document) && (document as { server_name?: unknown }).server_name === undefined;
      if (unnamed) ctx.addIssue({ code: 'custom', path: ['document', 'server_name'], message: SERVER_NAME_EXPECTED, input: undefined });
    },
    { when: () => true },
  )
  // A configured document gets the protocol's defaults (an invalid one is reported, and its value dropped).
  .overwrite((d) => {
    if (d.source !== 'config') return { ...d, document: d.document ?? {} };
    const configured = configuredDocumentSchema.safeParse(d.document ?? {});
    return configured.success ? { ...d, document: configured.data } : d;
  })
  .prefault({});

/**
 * The configuration schema shared by library options, files, environment and flags
 * alike. Strict objects: an unknown key is an error, which catches typos.
 * Defaults come from `DEFAULTS`; mode-dependent ones (metrics.listen) are filled in resolve.
 */
export const configSchema = z.strictObject({
  upstream: upstreamUrl,
  listen: listenAddress.default(DEFAULTS.listen),
  tls: z.strictObject({ cert: filePath.optional(), key: filePath.optional() }).default({}),
  metrics: z
    .strictObject({
      listen: z.union([z.literal(false), listenAddress], { error: 'expected "host:port", a port number or false' }).optional(),
      defaultMetrics: bool.default(DEFAULTS.metrics.defaultMetrics),
      gcDurations: bool.default(DEFAULTS.metrics.gcDurations),
    })
    .default({ defaultMetrics: DEFAULTS.metrics.defaultMetrics, gcDurations: DEFAULTS.metrics.gcDurations }),
  discovery: discoverySchema,
  health: z
    .strictObject({
      version: z.string({ error: 'expected a version string' }).min(1, 'expected a version string').optional(),
      probe: z
        .strictObject({
          path: probePath.default(DEFAULTS.health.probe.path),
          intervalMs: positiveInt.default(DEFAULTS.health.probe.intervalMs),
          timeoutMs: positiveInt.default(DEFAULTS.health.probe.timeoutMs),
          unhealthyThreshold: positiveInt.default(DEFAULTS.health.probe.unhealthyThreshold),
          healthyThreshold: positiveInt.default(DEFAULTS.health.probe.healthyThreshold),
        })
        .default({ ...DEFAULTS.health.probe }),
      passive: z
        .strictObject({
          windowMs: positiveInt.default(DEFAULTS.health.passive.windowMs),
          minRequests: positiveInt.default(DEFAULTS.health.passive.minRequests),
          errorRate: z
            .number({ error: 'expected a share between 0 and 1' })
            .gt(0, 'expected a share between 0 (exclusive) and 1')
            .lte(1, 'expected a share between 0 (exclusive) and 1')
            .default(DEFAULTS.health.passive.errorRate),
          p95LatencyMs: positiveInt.default(DEFAULTS.health.passive.p95LatencyMs),
        })
        .default({ ...DEFAULTS.health.passive }),
    })
    .default({ probe: { ...DEFAULTS.health.probe }, passive: { ...DEFAULTS.health.passive } }),
  proxy: z
    .strictObject({
      timeoutMs: positiveInt.default(DEFAULTS.proxy.timeoutMs),
      failFast: bool.default(DEFAULTS.proxy.failFast),
      maxBodyBytes: positiveInt.nullable().default(DEFAULTS.proxy.maxBodyBytes),
      maxConnections: positiveInt.default(DEFAULTS.proxy.maxConnections),
      engine: z.enum(['net', 'undici'], { error: 'expected "net" or "undici"' }).default(DEFAULTS.proxy.engine),
      parsedBody: z.enum(['reject', 'reserialize'], { error: 'expected "reject" or "reserialize"' }).default(DEFAULTS.proxy.parsedBody),
      paths: z.array(pathPrefix, { error: 'expected a list of path prefixes such as ["/v1/", "/federation/"]' }).default(() => [...DEFAULTS.proxy.paths]),
      trustedProxies: z.array(proxyAddress, { error: 'expected a list of addresses or CIDRs such as ["10.0.0.0/8"]' }).default(() => []),
    })
    .default({ ...DEFAULTS.proxy, paths: [...DEFAULTS.proxy.paths], trustedProxies: [] }),
  rateLimits: rateLimitsSchema.prefault({}),
  shutdown: z
    .strictObject({
      drainDelayMs: nonNegativeInt.default(DEFAULTS.shutdown.drainDelayMs),
      timeoutMs: nonNegativeInt.default(DEFAULTS.shutdown.timeoutMs),
    })
    .default({ ...DEFAULTS.shutdown }),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    })
    .default(DEFAULTS.logLevel),
});

export type ParsedConfig = z.output<typeof configSchema>;
