import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { GatewayOptions, HostPort, ResolvedConfig } from './config/options';
import { planReload, type ReconfigureResult, type RestartOnlyPolicy } from './config/reload-plan';
import { resolveConfig, type ConfigMode, type LoadedConfig } from './config/resolve';
import { DOCUMENT_DEFAULTS, type DiscoveryDocument, type DocumentTemplate } from './protocol/document';
import { DiscoveryEndpoint } from './discovery/handler';
import { UpstreamDocumentSource } from './discovery/upstream-document';
import { ConfigError, type ConfigProblem } from './errors';
import { HealthEndpoint } from './health/handler';
import { PublishedHealth } from './health/published';
import { DISCOVERY_PATH, HEALTH_PATH } from './protocol/paths';
import type { HealthState, StatusChange } from './health/states';
import { HealthTracker } from './health/tracker';
import { writeError } from './http/json-error';
import { requestTarget } from './http/request-target';
import { routeOf } from './protocol/routes';
import { pathOf } from './proxy/client-info';
import { listenError } from './config/listen-error';
import { adoptLogger, SILENT_LOGGER, type Logger } from './logger';
import { createMetricsHandler, type MetricsHandler } from './metrics/handler';
import { startMetricsListener, type MetricsListener, type Readiness } from './metrics/listener';
import { GatewayMetrics } from './metrics/metrics';
import type { ProxyObserver } from './proxy/observer';
import { ReverseProxy } from './proxy/reverse-proxy';
import { RateLimitGate } from './rate-limit/gate';
import { RateLimiter } from './rate-limit/limiter';
import { RateLimitMetrics } from './rate-limit-metrics';
import type { TlsMaterial } from './tls/material';
import { TrafficObserver } from './traffic-observer';

/** Express-style continuation: called for a path outside `proxy.paths`, never for one the gateway answers or forwards. */
export type NextFunction = (err?: unknown) => void;

/** The events a gateway emits. */
export interface GatewayEvents {
  /** The upstream's health changed (once per change): old and new state and the reason. */
  status: [change: StatusChange];
  /** The private metrics listener is up (library mode with `metrics.listen` set, and `serve`). */
  metricsListening: [address: HostPort];
  /**
   * Library mode: the private metrics listener could not start (a `ConfigError` naming
   * `metrics.listen` when the address is in use, not permitted or not local). The gateway
   * keeps serving without it. Also `metricsListener()` rejects with the same error.
   */
  metricsError: [error: Error];
  /** `close()` finished. */
  close: [];
}

/**
 * A gateway: an Express-compatible middleware (also a plain `node:http` request listener)
 * that answers discovery and health itself and forwards everything else to the upstream.
 */
export interface Gateway {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** Hand WebSocket upgrades to the gateway: `server.on('upgrade', gateway.upgrade)`. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** Serves the gateway's metrics registry in the Prometheus text format (mount it where you like). */
  readonly metricsHandler: MetricsHandler;
  /** The prom-client registry holding the gateway's metrics. */
  readonly registry: Registry;
  /**
   * The private metrics listener's address once it is up; undefined when `metrics.listen`
   * is not set. Rejects with the error of a listener that could not start (see the
   * `metricsError` event), so `await gateway.metricsListener()` at start-up fails loudly.
   */
  metricsListener(): Promise<HostPort | undefined>;
  /** The upstream's health as the gateway reports it: status, reason and since when. */
  readonly health: HealthState;
  /** The discovery document as currently published; undefined with `discovery.source: upstream` until the upstream's first valid one. */
  readonly document: DiscoveryDocument | undefined;
  /** The resolved configuration in force (defaults filled in); a new object after each `reconfigure()` that changed something. */
  readonly config: ResolvedConfig;
  /**
   * Applies a new configuration while running: the full options, as for `createGateway()`
   * (`logger` and `registry` are fixed at creation and ignored here). Validated first; all or
   * nothing: an invalid one, or one that changes a key that needs a restart (`listen`,
   * `metrics.listen`, `tls` paths, how the rate-limit store is reached, `logLevel`), throws
   * `ConfigError` naming every problem and changes nothing. Connections, tunnels, the
   * health verdict and the probe schedule carry over. Returns the dotted keys that changed.
   */
  reconfigure(options: GatewayOptions): ReconfigureResult;
  /** True once shutdown has begun: discovery, health and `/readyz` answer 503. `health` stays the upstream's verdict. */
  readonly shuttingDown: boolean;
  /**
   * Marks the gateway as shutting down without closing anything yet (the drain phase):
   * discovery, health and `/readyz` answer 503; proxied traffic keeps flowing, fail-fast
   * included, and the upstream's verdict, `upstream_status` and `status` events are untouched.
   */
  beginShutdown(): void;
  /** Stops probes, ends tunnels (1001), closes the metrics listener and frees timers. Idempotent. */
  close(): Promise<void>;
  on<E extends keyof GatewayEvents>(event: E, listener: (...args: GatewayEvents[E]) => void): Gateway;
  off<E extends keyof GatewayEvents>(event: E, listener: (...args: GatewayEvents[E]) => void): Gateway;
  once<E extends keyof GatewayEvents>(event: E, listener: (...args: GatewayEvents[E]) => void): Gateway;
}

/** Internal construction options: what `startServer` passes besides the user's configuration. */
export interface GatewayInternals {
  /** Where to log. @default a logger that writes nothing (a library is quiet unless given one) */
  readonly logger?: Logger | undefined;
  /** A prom-client registry of the user's (default: a new one; never the global registry). */
  readonly registry?: Registry | undefined;
  /** Also sees every proxied request and tunnel, after health and metrics (tests, embedders). */
  readonly proxyObserver?: ProxyObserver | undefined;
  /** Replaces the health tracker's verdict for fail-fast (tests that need a fixed verdict). */
  readonly upstreamUnhealthy?: (() => boolean) | undefined;
  /** Headers on the answers the gateway writes on a socket itself (refused WebSocket handshakes): `serve` adds HSTS. */
  readonly answerHeaders?: OutgoingHttpHeaders | undefined;
  /** How `reconfigure()` resolves new options. @default "library" */
  readonly mode?: ConfigMode | undefined;
}

const QUESTION_MARK = 0x3f;

/** True when `url` is `path` or `path?query`, without allocating a substring. */
function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === QUESTION_MARK);
}

/** The gateway's state and behaviour; `createGateway` wraps it in a callable middleware. */
export class GatewayCore extends EventEmitter<GatewayEvents> {
  private current: ResolvedConfig;
  private readonly mode: ConfigMode;
  readonly logger: Logger;
  readonly discovery: DiscoveryEndpoint;
  /** With `discovery.source: upstream`: fetches the upstream's document and publishes each new one (replaced when a reload changes where or how often). */
  discoverySource: UpstreamDocumentSource | undefined;
  readonly tracker: HealthTracker;
  readonly healthEndpoint: HealthEndpoint;
  /** What `/v1/health` answers: the upstream's verdict, or "shutting down" once the drain began. */
  private readonly published: PublishedHealth;
  readonly metrics: GatewayMetrics;
  readonly metricsHandler: MetricsHandler;
  /** HTTP forwarding and WebSocket tunnels to the upstream. */
  readonly proxy: ReverseProxy;
  /** The rate limiter, unless `rateLimits.enabled` is false; follow a new document with `applyDocument`. */
  rateLimiter: RateLimiter | undefined;
  /** What the rate limiter reports reaches the metrics through it, while limits are on. */
  private rateLimitMetrics: RateLimitMetrics | undefined;
  private rateLimitGate: RateLimitGate | undefined;
  private readonly tunnel = (req: IncomingMessage, socket: Duplex, head: Buffer): void => this.proxy.upgrade(req, socket, head);
  private shutdownStarted = false;
  private closed: Promise<void> | undefined;
  private metricsListener: Promise<MetricsListener | undefined> | undefined;

  constructor(loaded: LoadedConfig, internals: GatewayInternals = {}) {
    super();
    const config = (this.current = loaded.config);
    this.mode = internals.mode ?? 'library';
    this.logger = internals.logger ?? SILENT_LOGGER;

    this.metrics = new GatewayMetrics({
      ...(internals.registry && { registry: internals.registry }),
      defaultMetrics: config.metrics.defaultMetrics,
      gcDurations: config.metrics.gcDurations,
      version: config.health.version,
      protocolVersion: String(config.discovery.document.protocol_version ?? DOCUMENT_DEFAULTS.protocol_version),
    });
    this.metricsHandler = createMetricsHandler(this.metrics.registry);
    if (loaded.tls) this.metrics.setCertificateExpiry(loaded.tls.notAfterMs / 1000);

    this.tracker = new HealthTracker({
      upstream: config.upstream,
      probe: config.health.probe,
      passive: config.health.passive,
      onProbe: (result, durationMs) => this.metrics.probe(result, durationMs / 1000),
    });
    this.tracker.on('status', (change) => this.statusChanged(change));
    this.metrics.setUpstreamStatus(this.tracker.status);
    this.published = new PublishedHealth(this.tracker);
    this.healthEndpoint = new HealthEndpoint(this.published, { version: config.health.version });

    this.discovery = new DiscoveryEndpoint(
      // From the upstream: nothing to publish (503) until its first valid document.
      config.discovery.source === 'config' ? config.discovery.document : undefined,
      config.discovery.enabled,
      loaded.tls?.fingerprint,
      // 503 while shutting down or while the upstream is unhealthy: clients go to a healthy peer.
      () => !this.shutdownStarted && !this.tracker.isUnhealthy(),
      internals.answerHeaders,
    );
    const traffic = new TrafficObserver(this.tracker, this.metrics);
    this.proxy = new ReverseProxy(config, {
      logger: this.logger,
      observer: internals.proxyObserver ? teeObserver(traffic, internals.proxyObserver) : traffic,
      upstreamUnhealthy: internals.upstreamUnhealthy ?? (() => this.tracker.isUnhealthy()),
      answerHeaders: internals.answerHeaders,
    });
    this.metrics.watchPool(this.proxy.pool);
    this.applyRateLimits(config);
    this.discoverySource = this.upstreamSource(config);
    // Probing starts at once, so the first verdict is there before the first request needs it.
    this.tracker.start();
    this.discoverySource?.start();
  }

  /** The configuration in force. */
  get config(): ResolvedConfig {
    return this.current;
  }

  /**
   * Validates and applies new options (`gateway.reconfigure()`, `serve`'s reload), counting
   * the outcome in `cryptid_gateway_config_reloads_total` and logging it. Throws
   * `ConfigError` (nothing applied) when `load` does, or when a restart-only key changed
   * and `policy` is `refuse`.
   */
  reconfigure(load: () => LoadedConfig, policy: RestartOnlyPolicy): ReconfigureResult {
    let result: ReconfigureResult;
    try {
      const loaded = load();
      const plan = planReload(this.current, loaded.config, policy);
      if (plan.changed.length > 0) this.apply(plan.config);
      // Library mode serves no certificate of its own: the file is the fingerprint's only source.
      if (this.mode === 'library' && loaded.tls && plan.kept.length === 0) this.discovery.setFingerprint(loaded.tls.fingerprint);
      result = { changed: plan.changed, kept: plan.kept };
    } catch (err) {
      if (err instanceof ConfigError) this.reloadRejected(err.problems);
      throw err;
    }
    for (const key of result.kept) {
      this.logger.warn({ event: 'config_restart_required', key }, `${key} changed, but it needs a restart: still running with the previous value`);
    }
    this.metrics.configReload(result.kept.length > 0 ? 'partial' : result.changed.length > 0 ? 'applied' : 'unchanged');
    this.logger.info(
      { event: 'config_reloaded', changed: result.changed, ...(result.kept.length > 0 && { kept: result.kept }) },
      result.changed.length > 0 ? 'configuration reloaded' : 'configuration reloaded: nothing changed',
    );
    return result;
  }

  /** Options as `createGateway()` takes them, resolved the way this gateway was (`reconfigure()` of the library API). */
  reconfigureOptions(options: GatewayOptions): ReconfigureResult {
    return this.reconfigure(() => {
      if (options === null || typeof options !== 'object') throw new ConfigError([{ path: '(root)', message: 'expected an options object' }]);
      const { logger: _logger, registry: _registry, ...rest } = options;
      return resolveConfig(rest, this.mode);
    }, 'refuse');
  }

  /** Counts and logs a reload refused whole: every problem in one line, the running configuration kept. */
  private reloadRejected(problems: readonly ConfigProblem[]): void {
    this.metrics.configReload('rejected');
    this.logger.error(
      { event: 'config_reload_rejected', problems: problems.map((p) => `${p.path}: ${p.message}`) },
      `configuration reload refused (${problems.length} problem${problems.length === 1 ? '' : 's'}); still running the previous configuration`,
    );
  }

  /**
   * Puts a checked configuration in force, synchronously, so no request sees half of it.
   * The document goes first: it is the one step that can refuse (no fingerprint to publish).
   */
  private apply(next: ResolvedConfig): void {
    const previous = this.current;
    try {
      // The upstream's document stays published until a changed source brings its own.
      if (next.discovery.source === 'config') this.discovery.setDocument(next.discovery.document, next.discovery.enabled);
      else this.discovery.setEnabled(next.discovery.enabled);
    } catch (err) {
      throw new ConfigError([{ path: 'discovery.document.certificate_fingerprint', message: (err as Error).message }], { cause: err });
    }
    this.current = next;
    this.replaceDiscoverySource(previous, next);
    this.metrics.setBuildInfo(next.health.version, this.protocolVersion());
    this.healthEndpoint.setVersion(next.health.version);
    this.tracker.reconfigure({ upstream: next.upstream, probe: next.health.probe, passive: next.health.passive });
    this.proxy.reconfigure(next);
    this.applyRateLimits(next);
  }

  /** A new upstream source when a reload changed where the document comes from, how often, or its overrides; the old one stops. */
  private replaceDiscoverySource(previous: ResolvedConfig, next: ResolvedConfig): void {
    const same =
      previous.discovery.source === next.discovery.source &&
      previous.upstream.href === next.upstream.href &&
      previous.discovery.refreshMs === next.discovery.refreshMs &&
      JSON.stringify(previous.discovery.document) === JSON.stringify(next.discovery.document);
    if (same) return;
    const old = this.discoverySource;
    this.discoverySource = this.upstreamSource(next);
    void old?.close().catch(() => undefined);
    this.discoverySource?.start();
  }

  /** The source of `discovery.source: upstream`, not started; undefined for a configured document. */
  private upstreamSource(config: ResolvedConfig): UpstreamDocumentSource | undefined {
    if (config.discovery.source !== 'upstream') return undefined;
    const source: UpstreamDocumentSource = new UpstreamDocumentSource({
      upstream: config.upstream,
      refreshMs: config.discovery.refreshMs,
      overrides: config.discovery.document,
      logger: this.logger,
      // A replaced source's last fetch may still land: only the source in force publishes.
      onDocument: (template) => {
        if (source === this.discoverySource) this.documentChanged(template);
      },
      onRefresh: (result) => this.metrics.discoveryRefresh(result, Date.now() / 1000),
    });
    return source;
  }

  /** The protocol version as published, for `build_info`. */
  private protocolVersion(): string {
    return String(this.discovery.document?.protocol_version ?? DOCUMENT_DEFAULTS.protocol_version);
  }

  /** Builds, updates or drops the rate limiter; its store and counts carry over while it stays on. */
  private applyRateLimits(config: ResolvedConfig): void {
    const settings = config.rateLimits;
    if (!settings.enabled) {
      const old = this.rateLimiter;
      this.rateLimiter = this.rateLimitGate = undefined;
      this.rateLimitMetrics?.retire();
      this.rateLimitMetrics = undefined;
      void old?.close().catch(() => undefined);
      return;
    }
    if (this.rateLimiter) this.rateLimiter.reconfigure(settings);
    else {
      const observer = (this.rateLimitMetrics = new RateLimitMetrics(this.metrics, settings.store));
      // Behind a trusted load balancer the limit is per client, not per balancer (read at request time: it may be reloaded).
      this.rateLimiter = new RateLimiter(settings, { logger: this.logger, observer, addressOf: (req) => this.proxy.trustedProxies.clientAddress(req) });
      this.rateLimitGate = new RateLimitGate(this.rateLimiter, this.logger, observer);
    }
    // The rules follow the document as served, not as configured.
    const served = this.discovery.document;
    if (served !== undefined) this.rateLimiter.applyDocument(served);
  }

  get shuttingDown(): boolean {
    return this.shutdownStarted;
  }

  /** Routes one request: discovery and health are answered here, everything else goes upstream. */
  handle(req: IncomingMessage, res: ServerResponse, next?: NextFunction): void {
    // Draining: every answer closes its connection, so keep-alive clients reconnect (to a
    // peer, once this listener stops accepting) instead of racing the final idle close.
    if (this.shutdownStarted) res.shouldKeepAlive = false;
    const url = requestTarget(req);
    if (isPath(url, DISCOVERY_PATH)) return this.answerOwn(req, res, DISCOVERY_PATH, this.discovery);
    if (isPath(url, HEALTH_PATH)) return this.answerOwn(req, res, HEALTH_PATH, this.healthEndpoint);
    if (!this.proxy.forwards(url)) return next ? next() : this.notForwarded(req, res, url);
    if (this.rateLimitGate !== undefined) return this.rateLimitGate.http(req, res, this.proxy.web, url);
    this.proxy.web(req, res);
  }

  /** WebSocket upgrades, on any path: tunnelled to the upstream. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.rateLimitGate !== undefined) return this.rateLimitGate.upgrade(req, socket, head, this.tunnel);
    this.proxy.upgrade(req, socket, head);
  }

  /** `/readyz`: configuration, certificate and listeners are up (they are, once constructed), not shutting down, upstream not unhealthy. */
  readiness(): Readiness {
    if (this.shutdownStarted) return { ready: false, reason: 'shutting down' };
    if (this.tracker.isUnhealthy()) return { ready: false, reason: `upstream unhealthy: ${this.tracker.reason}` };
    return { ready: true };
  }

  /**
   * Starts the private metrics listener if `metrics.listen` is set (once; later calls get the
   * same promise); resolves to undefined otherwise. A failure to listen rejects with a
   * `ConfigError` naming `metrics.listen`.
   */
  startMetricsListener(): Promise<MetricsListener | undefined> {
    const address = this.config.metrics.listen;
    this.metricsListener ??=
      address === false
        ? Promise.resolve(undefined)
        : startMetricsListener({
            host: address.host,
            port: address.port,
            registry: this.metrics.registry,
            isReady: () => this.readiness(),
          }).then(
            (listener) => {
              const bound = { host: address.host, port: listener.port };
              this.logger.info({ event: 'metrics_listening', ...bound }, 'metrics listener up');
              this.emit('metricsListening', bound);
              return listener;
            },
            (err: unknown) => {
              throw listenError(err, 'metrics.listen', address);
            },
          );
    return this.metricsListener;
  }

  /** Publishes a rotated certificate's fingerprint and expiry. */
  certificateChanged(material: TlsMaterial): void {
    this.discovery.setFingerprint(material.fingerprint);
    this.metrics.setCertificateExpiry(material.notAfterMs / 1000);
  }

  /**
   * Shutting-down: health, discovery and `/readyz` answer 503 at once; traffic still flows,
   * fail-fast included (the upstream is not unhealthy because the gateway restarts).
   */
  beginShutdown(): void {
    if (this.shutdownStarted) return;
    this.shutdownStarted = true;
    this.published.beginShutdown();
    this.logger.info({ event: 'shutdown' }, 'shutting down: discovery and health now answer 503');
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.beginShutdown();
      this.tracker.stop();
      await this.discoverySource?.close();
      await this.proxy.close();
      await this.rateLimiter?.close();
      const listener = await this.metricsListener?.catch(() => undefined);
      await listener?.close();
      this.emit('close');
    })();
    return this.closed;
  }

  /** A new document from the upstream: published, and the rate limits and build info follow it. */
  private documentChanged(template: DocumentTemplate): void {
    this.discovery.setDocument(template);
    const served = this.discovery.document;
    if (served === undefined) return;
    this.rateLimiter?.applyDocument(served);
    this.metrics.setBuildInfo(this.config.health.version, String(served.protocol_version));
  }

  /** Answers one of the gateway's own routes and records it: these handlers respond synchronously. */
  private answerOwn(
    req: IncomingMessage,
    res: ServerResponse,
    route: typeof DISCOVERY_PATH | typeof HEALTH_PATH,
    endpoint: { handle(req: IncomingMessage, res: ServerResponse): void },
  ): void {
    const start = performance.now();
    endpoint.handle(req, res);
    this.metrics.observeRequest(req.method, route, res.statusCode, (performance.now() - start) / 1000);
  }

  /** A path outside `proxy.paths` with no app to hand it to (`serve`, `http.createServer(gateway)`): 404. */
  private notForwarded(req: IncomingMessage, res: ServerResponse, url: string): void {
    const start = performance.now();
    const method = req.method ?? 'GET';
    writeError(res, 'notFound', undefined, method === 'HEAD');
    this.metrics.observeRequest(method, routeOf(method, pathOf(url)), res.statusCode, (performance.now() - start) / 1000);
  }

  private statusChanged(change: StatusChange): void {
    this.metrics.setUpstreamStatus(change.status);
    this.metrics.stateTransition(change.previous, change.status);
    const level = change.status === 'healthy' ? 'info' : change.status === 'degraded' ? 'warn' : 'error';
    this.logger[level]({ event: 'upstream_status', status: change.status, previous: change.previous, reason: change.reason }, `upstream ${change.status}`);
    this.emit('status', change);
  }
}

/** Tells two observers, in order. */
function teeObserver(first: ProxyObserver, second: ProxyObserver): ProxyObserver {
  return {
    requestFinished: (o) => (first.requestFinished(o), second.requestFinished(o)),
    tunnelOpened: () => (first.tunnelOpened(), second.tunnelOpened()),
    tunnelClosed: () => (first.tunnelClosed(), second.tunnelClosed()),
    upgradeFailed: (r) => (first.upgradeFailed(r), second.upgradeFailed(r)),
  };
}

/** Wraps a core in the callable middleware shape users mount. */
export function wrapGateway(core: GatewayCore): Gateway {
  const middleware = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => core.handle(req, res, next);
  const gateway = Object.defineProperties(middleware, {
    upgrade: { value: (req: IncomingMessage, socket: Duplex, head: Buffer) => core.upgrade(req, socket, head) },
    metricsHandler: { value: core.metricsHandler },
    registry: { value: core.metrics.registry },
    metricsListener: {
      value: async (): Promise<HostPort | undefined> => {
        const listener = await core.startMetricsListener();
        const address = core.config.metrics.listen;
        return listener && address !== false ? { host: address.host, port: listener.port } : undefined;
      },
    },
    health: { get: () => core.tracker.current },
    document: { get: () => core.discovery.document },
    config: { get: () => core.config },
    reconfigure: { value: (options: GatewayOptions) => core.reconfigureOptions(options) },
    shuttingDown: { get: () => core.shuttingDown },
    beginShutdown: { value: () => core.beginShutdown() },
    close: { value: () => core.close() },
    on: { value: (event: keyof GatewayEvents, listener: (...args: never[]) => void) => (core.on(event, listener), gateway) },
    off: { value: (event: keyof GatewayEvents, listener: (...args: never[]) => void) => (core.off(event, listener), gateway) },
    once: { value: (event: keyof GatewayEvents, listener: (...args: never[]) => void) => (core.once(event, listener), gateway) },
  }) as unknown as Gateway;
  return gateway;
}

/**
 * Creates a gateway to mount in an existing app (`app.use(gateway)`). Validates the
 * options once and throws `ConfigError` listing every problem. Probing starts at once;
 * the metrics listener opens only when `metrics.listen` is set (its failure: the
 * `metricsError` event and `metricsListener()`). Logs nothing unless given a `logger`.
 */
export function createGateway(options: GatewayOptions): Gateway {
  if (options === null || typeof options !== 'object') {
    throw new ConfigError([{ path: '(root)', message: 'expected an options object' }]);
  }
  const { logger, registry, ...rest } = options;
  const core = new GatewayCore(resolveConfig(rest, 'library'), { logger: logger && adoptLogger(logger), registry });
  // A listener that cannot start must reach the caller, not only a log line nobody may read.
  core.startMetricsListener().catch((err: unknown) => {
    const error = err instanceof Error ? err : new Error(String(err));
    core.logger.error({ event: 'metrics_listen_failed', err: error.message }, 'metrics listener could not start');
    core.emit('metricsError', error);
  });
  return wrapGateway(core);
}
