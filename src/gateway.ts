import { EventEmitter } from 'node:events';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { performance } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { GatewayOptions, HostPort, ResolvedConfig } from './config/options';
import { resolveConfig, type LoadedConfig } from './config/resolve';
import { DOCUMENT_DEFAULTS, type DiscoveryDocument, type DocumentTemplate } from './protocol/document';
import { DiscoveryEndpoint } from './discovery/handler';
import { UpstreamDocumentSource } from './discovery/upstream-document';
import { ConfigError } from './errors';
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
  /** The resolved configuration (defaults filled in). */
  readonly config: ResolvedConfig;
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
}

const QUESTION_MARK = 0x3f;

/** True when `url` is `path` or `path?query`, without allocating a substring. */
function isPath(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === QUESTION_MARK);
}

/** The gateway's state and behaviour; `createGateway` wraps it in a callable middleware. */
export class GatewayCore extends EventEmitter<GatewayEvents> {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly discovery: DiscoveryEndpoint;
  /** With `discovery.source: upstream`: fetches the upstream's document and publishes each new one. */
  readonly discoverySource: UpstreamDocumentSource | undefined;
  readonly tracker: HealthTracker;
  readonly healthEndpoint: HealthEndpoint;
  /** What `/v1/health` answers: the upstream's verdict, or "shutting down" once the drain began. */
  private readonly published: PublishedHealth;
  readonly metrics: GatewayMetrics;
  readonly metricsHandler: MetricsHandler;
  /** HTTP forwarding and WebSocket tunnels to the upstream. */
  readonly proxy: ReverseProxy;
  /** The rate limiter, unless `rateLimits.enabled` is false; follow a new document with `applyDocument`. */
  readonly rateLimiter: RateLimiter | undefined;
  private readonly rateLimitGate: RateLimitGate | undefined;
  private readonly tunnel = (req: IncomingMessage, socket: Duplex, head: Buffer): void => this.proxy.upgrade(req, socket, head);
  private shutdownStarted = false;
  private closed: Promise<void> | undefined;
  private metricsListener: Promise<MetricsListener | undefined> | undefined;

  constructor(loaded: LoadedConfig, internals: GatewayInternals = {}) {
    super();
    const config = (this.config = loaded.config);
    this.logger = internals.logger ?? SILENT_LOGGER;

    this.metrics = new GatewayMetrics({
      ...(internals.registry && { registry: internals.registry }),
      defaultMetrics: config.metrics.defaultMetrics,
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
    );
    const traffic = new TrafficObserver(this.tracker, this.metrics);
    this.proxy = new ReverseProxy(config, {
      logger: this.logger,
      observer: internals.proxyObserver ? teeObserver(traffic, internals.proxyObserver) : traffic,
      upstreamUnhealthy: internals.upstreamUnhealthy ?? (() => this.tracker.isUnhealthy()),
      answerHeaders: internals.answerHeaders,
    });
    this.metrics.watchPool(this.proxy.pool);
    if (config.rateLimits.enabled) {
      const observer = new RateLimitMetrics(this.metrics, config.rateLimits.store);
      const trusted = this.proxy.trustedProxies;
      // Behind a trusted load balancer the limit is per client, not per balancer.
      this.rateLimiter = new RateLimiter(config.rateLimits, { logger: this.logger, observer, addressOf: (req) => trusted.clientAddress(req) });
      // The rules follow the document as served, not as configured.
      const served = this.discovery.document;
      if (served !== undefined) this.rateLimiter.applyDocument(served);
      this.rateLimitGate = new RateLimitGate(this.rateLimiter, this.logger, observer);
    }
    this.discoverySource =
      config.discovery.source === 'upstream'
        ? new UpstreamDocumentSource({
            upstream: config.upstream,
            refreshMs: config.discovery.refreshMs,
            overrides: config.discovery.document,
            logger: this.logger,
            onDocument: (template) => this.documentChanged(template),
            onRefresh: (result) => this.metrics.discoveryRefresh(result, Date.now() / 1000),
          })
        : undefined;
    // Probing starts at once, so the first verdict is there before the first request needs it.
    this.tracker.start();
    this.discoverySource?.start();
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
    this.metrics.setBuildInfo(this.config.health.version, served.protocol_version);
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
    config: { value: core.config },
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
