import type { Cluster, Redis } from 'ioredis';
import type { GatewayLogger, LogLevel } from '../logger';
import type { Registry } from 'prom-client';
import type { DiscoveryDocumentOptions, DocumentOverrides, DocumentTemplate } from '../protocol/document';

/** An address to listen on: `"host:port"`, `":port"`, `"[::1]:port"` or a port number. */
export type ListenAddress = string | number;

/** Active probing of the upstream: `GET {upstream}{path}` on a timer. */
export interface ProbeOptions {
  /** Path probed on the upstream. @default "/v1/health" */
  path?: string;
  /** Time between probes, with ±10 % jitter. @default 5000 */
  intervalMs?: number;
  /** A probe without an answer by then is a failure. @default 2000 */
  timeoutMs?: number;
  /** Consecutive failures that make the upstream `unhealthy`. @default 3 */
  unhealthyThreshold?: number;
  /** Consecutive successes needed to leave `unhealthy`. @default 2 */
  healthyThreshold?: number;
}

/** Health judged from the proxied traffic itself. */
export interface PassiveOptions {
  /** Sliding window length. @default 60000 */
  windowMs?: number;
  /** Fewer requests than this in the window say nothing. @default 20 */
  minRequests?: number;
  /** Share of upstream-origin failures at or above which the upstream is `degraded`. @default 0.1 */
  errorRate?: number;
  /** Upstream p95 latency above which the upstream is `degraded`. @default 2000 */
  p95LatencyMs?: number;
}

/**
 * What a rate-limit rule counts by. `ip`: the client's address (an IPv6 address by its /64);
 * `bearer`: the SHA-256 of the `Authorization: Bearer` token (for a WebSocket upgrade also of
 * an `access_token` query parameter); `header:<name>`: that header's value, hashed. A request
 * without the material of its kind is counted by its address.
 */
export type RateLimitKey = 'ip' | 'bearer' | `header:${string}`;

/** One rate limit: requests matching `match`, per key, at most `limit` per `windowMs`. */
export interface RateLimitRuleOptions {
  /** Names the rule in answers (`RateLimit` headers), metrics and store keys: letters, digits, `_`, `-`, `.`. */
  name: string;
  /**
   * Path prefixes, optionally after a method: `"/federation/"`, `"POST /v1/announce"`. A prefix
   * ending in `/` matches every path below it; one that does not matches that path and the
   * paths below it (`/v1/announce`, `/v1/announce/x`, not `/v1/announcement`).
   */
  match: string[];
  /** What the limit is counted by. */
  key: RateLimitKey;
  /** Requests admitted per key and window. */
  limit: number;
  /** The window, in milliseconds (at least 1000: answers count in seconds). */
  windowMs: number;
}

/** The shared store of `rateLimits.store: redis`: one Redis server, or a Redis Cluster. */
export interface RateLimitRedisOptions {
  /**
   * One Redis server: `redis://[[user]:password@]host[:port][/db]`, or `rediss://…` for TLS.
   * @default null
   */
  url?: string | null;
  /**
   * A Redis Cluster instead: seed nodes as `"host:port"` or `redis(s)://[[user]:password@]host:port`
   * (credentials and TLS the same on every entry). @default null
   */
  cluster?: string[] | null;
  /** PEM file of the CA that signed the Redis server's certificate (`rediss://`). */
  ca?: string;
  /** Prefix of every key the gateway writes. @default "cryptid-gateway:" */
  keyPrefix?: string;
  /** The longest a request waits for Redis; then `onStoreError` applies. @default 100 */
  timeoutMs?: number;
  /**
   * Library only: an ioredis `Redis` or `Cluster` of your own, used instead of `url`/`cluster`
   * (the gateway neither configures nor closes it).
   */
  client?: Redis | Cluster;
}

/** Rate limits the gateway enforces itself, before forwarding. */
export interface RateLimitOptions {
  /** @default true */
  enabled?: boolean;
  /** `memory` counts in this process; `redis` shares the counts between every replica. @default "memory" */
  store?: 'memory' | 'redis';
  redis?: RateLimitRedisOptions;
  /**
   * When Redis does not answer within `timeoutMs`: `allow` decides with a limiter of this
   * process (limit ÷ `replicas`), `deny` answers 503. @default "allow"
   */
  onStoreError?: 'allow' | 'deny';
  /** How many replicas share the limits: the per-process fallback admits limit ÷ replicas. @default 1 */
  replicas?: number;
  /** Keys the memory store (and the fallback) keeps; the least recently used go first. @default 100000 */
  maxKeys?: number;
  /** The rules; `null` derives them from the document's `rate_limits`. @default null */
  rules?: RateLimitRuleOptions[] | null;
}

/** `discovery` with the document written in the configuration (the default). */
export interface DiscoveryFromConfig {
  /** `false` answers 404 `ENDPOINT_NOT_FOUND`. @default true */
  enabled?: boolean;
  /** Where the published document comes from: this configuration, or the upstream's own. @default "config" */
  source?: 'config';
  /** With `source: upstream`, how often the upstream's document is fetched again (at least 1000). @default 300000 */
  refreshMs?: number;
  /** The published document; protocol field names. */
  document: DiscoveryDocumentOptions;
}

/**
 * `discovery` with the document fetched from `{upstream}/.well-known/cryptid` at start and
 * every `refreshMs`, validated like a configured one; the gateway's own certificate
 * fingerprint is written over the upstream's.
 */
export interface DiscoveryFromUpstream {
  /** `false` answers 404 `ENDPOINT_NOT_FOUND`. @default true */
  enabled?: boolean;
  source: 'upstream';
  /** How often the upstream's document is fetched again, in milliseconds (at least 1000). @default 300000 */
  refreshMs?: number;
  /** Fields that override the upstream's (limit objects field by field); none is required. */
  document?: DocumentOverrides;
}

/**
 * Options of `createGateway()` and `startServer()`; the same keys a configuration file
 * holds. Only `upstream` and `discovery.document.server_name` are required (the latter not
 * with `discovery.source: upstream`).
 */
export interface GatewayOptions {
  /** http(s) URL of the Cryptid server, an origin without path (`http://127.0.0.1:8008`). */
  upstream: string;
  /** `serve` only: where HTTPS is served. @default "0.0.0.0:8443" */
  listen?: ListenAddress;
  /** The certificate the public side serves. `serve` needs both; `cert` alone gives the fingerprint. */
  tls?: {
    /** PEM file; the first certificate is the leaf. */
    cert?: string;
    /** PEM private key file matching `cert`. */
    key?: string;
  };
  metrics?: {
    /**
     * Private listener for `/metrics`, `/livez`, `/readyz`; `false` turns it off.
     * @default "0.0.0.0:9464" for `serve`; off in library mode
     */
    listen?: ListenAddress | false;
    /** Export `process_*` and `nodejs_*` metrics (all but `nodejs_gc_duration_seconds`). @default true */
    defaultMetrics?: boolean;
    /**
     * Export `nodejs_gc_duration_seconds`, prom-client's histogram of V8's collections.
     * Off by default: observing every collection costs about 2 µs per proxied request.
     * @default false
     */
    gcDurations?: boolean;
  };
  discovery: DiscoveryFromConfig | DiscoveryFromUpstream;
  health?: {
    /** Reported as `version` by `/v1/health`. @default the package version */
    version?: string;
    probe?: ProbeOptions;
    passive?: PassiveOptions;
  };
  proxy?: {
    /** No response headers from the upstream by then: 504. @default 30000 */
    timeoutMs?: number;
    /** While `unhealthy`, answer 503 without contacting the upstream. @default false */
    failFast?: boolean;
    /** Request body cap; `null` derives it from `max_message_size`. @default null */
    maxBodyBytes?: number | null;
    /**
     * Most HTTP connections to the upstream at once; a request beyond them waits for a free
     * one, within `timeoutMs` (then 504). Slow clients cannot take one upstream connection
     * each without bound. @default 512
     */
    maxConnections?: number;
    /**
     * The HTTP/1.1 client that carries requests to the upstream: `net`, the gateway's own
     * over `node:net`/`node:tls` (a third less CPU per request and less memory), or `undici`,
     * the one it used before, kept as a fallback. Both stream, pool and never retry alike.
     * @default "net"
     */
    engine?: HttpEngine;
    /**
     * A body an earlier middleware (a body parser) has already read, when its raw bytes are
     * not at hand (`req.rawBody`, or `req.body` as a Buffer or string, are forwarded byte for
     * byte): `reject` answers 500 `BODY_ALREADY_READ` without contacting the upstream and
     * logs once how to fix the app; `reserialize` re-encodes a parsed JSON or URL-encoded
     * body per its `Content-Type` (equivalent, not identical bytes).
     * @default "reject"
     */
    parsedBody?: ParsedBodyMode;
    /**
     * The path prefixes the gateway forwards, whole segments (`"/v1/"` covers `/v1` and
     * `/v1/…`); any other path goes to `next()` in library mode (404 without one, and in
     * `serve`), and an upgrade outside them gets 400. Discovery and health are always
     * answered. Lets an app mount the gateway first, its own routes and parsers behind it.
     * @default ["/"]
     */
    paths?: string[];
    /**
     * Hops in front of the gateway (addresses or CIDRs, IPv4 and IPv6) whose
     * `X-Forwarded-Proto`, `X-Forwarded-Host` and `X-Request-Id` are kept; from any other
     * peer they are set from the connection. `X-Forwarded-For` is always appended to.
     * @default []
     */
    trustedProxies?: string[];
  };
  rateLimits?: RateLimitOptions;
  shutdown?: {
    /** After SIGTERM, keep serving this long (the endpoint leaves the load balancer meanwhile). @default 5000 */
    drainDelayMs?: number;
    /** Then give in-flight requests up to this long. @default 30000 */
    timeoutMs?: number;
  };
  /**
   * The level of the JSON lines `serve` (and `startServer()` without a `logger`) writes to
   * stdout. Library mode writes nothing unless given a `logger`, whose own level applies.
   * @default "info"
   */
  logLevel?: LogLevel;
  /**
   * Library only: where the gateway logs (pino, or any object with its level methods).
   * Without one, `createGateway()` logs nothing at all.
   */
  logger?: GatewayLogger;
  /** Library only: a prom-client registry to register the gateway's metrics in. */
  registry?: Registry;
}

/** What the gateway does with a request body a middleware before it has already parsed. */
export type ParsedBodyMode = 'reject' | 'reserialize';

/** `proxy.engine`: which HTTP/1.1 client carries proxied requests upstream. */
export type HttpEngine = 'net' | 'undici';

/** A parsed listen address. */
export interface HostPort {
  host: string;
  port: number;
}

/** Options after validation and defaults: what the inner modules take. */
export interface ResolvedConfig {
  /** The upstream origin, e.g. `http://127.0.0.1:8008`. */
  upstream: URL;
  listen: HostPort;
  tls: { cert: string | undefined; key: string | undefined };
  metrics: { listen: HostPort | false; defaultMetrics: boolean; gcDurations: boolean };
  discovery: ResolvedDiscovery;
  health: {
    version: string;
    probe: Required<ProbeOptions>;
    passive: Required<PassiveOptions>;
  };
  proxy: {
    timeoutMs: number;
    failFast: boolean;
    maxBodyBytes: number;
    maxConnections: number;
    engine: HttpEngine;
    parsedBody: ParsedBodyMode;
    paths: readonly string[];
    trustedProxies: readonly string[];
  };
  rateLimits: ResolvedRateLimits;
  shutdown: { drainDelayMs: number; timeoutMs: number };
  logLevel: LogLevel;
}

/** `discovery` after validation and defaults: the configured document, or the overrides of the upstream's. */
export type ResolvedDiscovery =
  | { readonly enabled: boolean; readonly source: 'config'; readonly refreshMs: number; readonly document: DocumentTemplate }
  | { readonly enabled: boolean; readonly source: 'upstream'; readonly refreshMs: number; readonly document: DocumentOverrides };

/** A rate-limit rule after validation: `match` parsed, `key` filled in. */
export interface ResolvedRateLimitRule {
  readonly name: string;
  readonly match: readonly { readonly method: string | undefined; readonly prefix: string }[];
  readonly key: RateLimitKey;
  readonly limit: number;
  readonly windowMs: number;
}

/** Where the shared store is: one server, or the seed nodes of a Cluster, with the connection's credentials and TLS. */
export interface ResolvedRedisTarget {
  readonly nodes: readonly HostPort[];
  readonly cluster: boolean;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly db: number;
  /** TLS on (`rediss://`), with the CA's PEM when `ca` was given. */
  readonly tls: { readonly ca: string | undefined } | undefined;
}

/** `rateLimits` after validation and defaults. */
export interface ResolvedRateLimits {
  readonly enabled: boolean;
  readonly store: 'memory' | 'redis';
  readonly redis: {
    /** Undefined for the memory store, or when `client` is given. */
    readonly target: ResolvedRedisTarget | undefined;
    readonly client: Redis | Cluster | undefined;
    readonly keyPrefix: string;
    readonly timeoutMs: number;
  };
  readonly onStoreError: 'allow' | 'deny';
  readonly replicas: number;
  readonly maxKeys: number;
  /** The rules in force. */
  readonly rules: readonly ResolvedRateLimitRule[];
  /** True when `rules` were derived from the document (and follow it when it changes). */
  readonly rulesFromDocument: boolean;
}
