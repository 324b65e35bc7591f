import { isIP } from 'node:net';
import * as z from 'zod/mini';
import { SERVER_NAME_EXPECTED, configuredDocumentSchema, documentOverridesSchema } from '../protocol/document';
import { integerAtLeast, positiveInteger } from '../validation/numbers';
import { DEFAULTS, MIN_REFRESH_MS } from './defaults';
import { parseListenAddress } from './listen-address';
import { rateLimitsSchema } from './rate-limit-schema';

const nonNegativeInt = integerAtLeast(0, 'expected an integer ≥ 0');
const bool = z.boolean({ error: 'expected true or false' });

const listenAddress = z.union([z.string(), z.number()], { error: 'expected "host:port" or a port number' }).check(
  z.superRefine((value, ctx) => {
    const parsed = parseListenAddress(value);
    if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
  }),
);

const upstreamUrl = z.string({ error: 'expected an http(s) URL such as "http://127.0.0.1:8008"' }).check(
  z.superRefine((value, ctx) => {
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
  }),
);

/**
 * A `proxy.paths` entry: a path prefix as it reads once decoded, so that it means the same
 * whichever way a request spells its path.
 */
const pathPrefix = z.string({ error: 'expected a path prefix such as "/v1/"' }).check(
  z.superRefine((value, ctx) => {
    const problem = pathPrefixProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

function pathPrefixProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return 'expected a path prefix starting with "/", such as "/v1/"';
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f?#%\\]/.test(value)) return 'expected a decoded path prefix: no spaces, control characters, "?", "#", "%" or backslashes';
  const segments = value.split('/').slice(1, value.endsWith('/') ? -1 : undefined);
  if (value !== '/' && segments.some((s) => s === '' || s === '.' || s === '..')) return 'expected a path prefix without empty, "." or ".." segments';
  return undefined;
}

/** A `proxy.trustedProxies` entry: an IPv4 or IPv6 address, or a CIDR block of either. */
const proxyAddress = z.string({ error: 'expected an IP address or a CIDR such as "10.0.0.0/8"' }).check(
  z.superRefine((value, ctx) => {
    const problem = proxyAddressProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

function proxyAddressProblem(value: string): string | undefined {
  const [address = '', prefix, extra] = value.split('/');
  // A zone id (fe80::1%eth0) names an interface of this host, not a peer.
  const family = extra !== undefined || address.includes('%') ? 0 : isIP(address);
  if (family === 0) return 'expected an IPv4 or IPv6 address, or a CIDR such as "10.0.0.0/8" or "fd00::/8"';
  const max = family === 6 ? 128 : 32;
  if (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max)) return `expected a prefix length from 0 to ${max} after "/"`;
  return undefined;
}

const filePath = z.string({ error: 'expected a file path' }).check(z.minLength(1, 'expected a file path'));

const probePath = z.string({ error: 'expected a path starting with "/"' }).check(z.regex(/^\/[^\s#]*$/, 'expected a path starting with "/"'));

/**
 * The `discovery` block. The `document` is parsed field by field (each field's own rules);
 * with `source: config` it must also name `server_name`, and gets the protocol's defaults;
 * with `source: upstream` it holds only the overrides given.
 */
const discoverySchema = z.prefault(
  z
    .strictObject(
      {
        enabled: z._default(bool, DEFAULTS.discovery.enabled),
        source: z._default(z.enum(['config', 'upstream'], { error: 'expected "config" or "upstream"' }), DEFAULTS.discovery.source),
        refreshMs: z._default(integerAtLeast(MIN_REFRESH_MS, `expected an integer ≥ ${MIN_REFRESH_MS} (milliseconds)`), DEFAULTS.discovery.refreshMs),
        document: z.optional(documentOverridesSchema),
      },
      { error: 'expected an object with a "document" (server_name is required)' },
    )
    .check(
      // Runs even when a sibling field failed: a bad refreshMs must not hide a missing server_name.
      z.superRefine(
        (d, ctx) => {
          if (typeof d !== 'object' || d === null || d.source !== 'config') return;
          // A missing block counts as {}, so the report names server_name itself; a document that is no object is reported as such.
          const document: unknown = d.document ?? {};
          const unnamed = typeof document === 'object' && document !== null && !Array.isArray(document) && (document as { server_name?: unknown }).server_name === undefined;
          if (unnamed) ctx.addIssue({ code: 'custom', path: ['document', 'server_name'], message: SERVER_NAME_EXPECTED, input: undefined });
        },
        { when: () => true },
      ),
      // A configured document gets the protocol's defaults (an invalid one is reported, and its value dropped).
      z.overwrite((d) => {
        if (d.source !== 'config') return { ...d, document: d.document ?? {} };
        const configured = configuredDocumentSchema.safeParse(d.document ?? {});
        return configured.success ? { ...d, document: configured.data } : d;
      }),
    ),
  {},
);

const probeSchema = z.strictObject({
  path: z._default(probePath, DEFAULTS.health.probe.path),
  intervalMs: z._default(positiveInteger, DEFAULTS.health.probe.intervalMs),
  timeoutMs: z._default(positiveInteger, DEFAULTS.health.probe.timeoutMs),
  unhealthyThreshold: z._default(positiveInteger, DEFAULTS.health.probe.unhealthyThreshold),
  healthyThreshold: z._default(positiveInteger, DEFAULTS.health.probe.healthyThreshold),
});

const passiveSchema = z.strictObject({
  windowMs: z._default(positiveInteger, DEFAULTS.health.passive.windowMs),
  minRequests: z._default(positiveInteger, DEFAULTS.health.passive.minRequests),
  errorRate: z._default(
    z
      .number({ error: 'expected a share between 0 and 1' })
      .check(z.gt(0, 'expected a share between 0 (exclusive) and 1'), z.lte(1, 'expected a share between 0 (exclusive) and 1')),
    DEFAULTS.health.passive.errorRate,
  ),
  p95LatencyMs: z._default(positiveInteger, DEFAULTS.health.passive.p95LatencyMs),
});

const proxySchema = z.strictObject({
  timeoutMs: z._default(positiveInteger, DEFAULTS.proxy.timeoutMs),
  failFast: z._default(bool, DEFAULTS.proxy.failFast),
  maxBodyBytes: z._default(z.nullable(positiveInteger), DEFAULTS.proxy.maxBodyBytes),
  maxConnections: z._default(positiveInteger, DEFAULTS.proxy.maxConnections),
  engine: z._default(z.enum(['net', 'undici'], { error: 'expected "net" or "undici"' }), DEFAULTS.proxy.engine),
  parsedBody: z._default(z.enum(['reject', 'reserialize'], { error: 'expected "reject" or "reserialize"' }), DEFAULTS.proxy.parsedBody),
  paths: z._default(z.array(pathPrefix, { error: 'expected a list of path prefixes such as ["/v1/", "/federation/"]' }), () => [...DEFAULTS.proxy.paths]),
  trustedProxies: z._default(z.array(proxyAddress, { error: 'expected a list of addresses or CIDRs such as ["10.0.0.0/8"]' }), () => []),
});

/**
 * The configuration schema shared by library options, files, environment and flags
 * alike. Strict objects: an unknown key is an error, which catches typos.
 * Defaults come from `DEFAULTS`; mode-dependent ones (metrics.listen) are filled in resolve.
 */
export const configSchema = z.strictObject({
  upstream: upstreamUrl,
  listen: z._default(listenAddress, DEFAULTS.listen),
  tls: z._default(z.strictObject({ cert: z.optional(filePath), key: z.optional(filePath) }), {}),
  metrics: z._default(
    z.strictObject({
      listen: z.optional(z.union([z.literal(false), listenAddress], { error: 'expected "host:port", a port number or false' })),
      defaultMetrics: z._default(bool, DEFAULTS.metrics.defaultMetrics),
      gcDurations: z._default(bool, DEFAULTS.metrics.gcDurations),
    }),
    { defaultMetrics: DEFAULTS.metrics.defaultMetrics, gcDurations: DEFAULTS.metrics.gcDurations },
  ),
  discovery: discoverySchema,
  health: z._default(
    z.strictObject({
      version: z.optional(z.string({ error: 'expected a version string' }).check(z.minLength(1, 'expected a version string'))),
      probe: z._default(probeSchema, { ...DEFAULTS.health.probe }),
      passive: z._default(passiveSchema, { ...DEFAULTS.health.passive }),
    }),
    // Functions: zod copies an object default one level deep only, and nested objects would be shared between configurations.
    () => ({ probe: { ...DEFAULTS.health.probe }, passive: { ...DEFAULTS.health.passive } }),
  ),
  proxy: z._default(proxySchema, () => ({ ...DEFAULTS.proxy, paths: [...DEFAULTS.proxy.paths], trustedProxies: [] })),
  rateLimits: z.prefault(rateLimitsSchema, {}),
  shutdown: z._default(
    z.strictObject({
      drainDelayMs: z._default(nonNegativeInt, DEFAULTS.shutdown.drainDelayMs),
      timeoutMs: z._default(nonNegativeInt, DEFAULTS.shutdown.timeoutMs),
    }),
    { ...DEFAULTS.shutdown },
  ),
  logLevel: z._default(
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'expected one of fatal, error, warn, info, debug, trace, silent',
    }),
    DEFAULTS.logLevel,
  ),
});

export type ParsedConfig = z.output<typeof configSchema>;
