import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { GatewayOptions, ResolvedConfig } from './config/options';
import { resolveConfig, type LoadedConfig } from './config/resolve';
import type { DiscoveryDocument } from './discovery/document';
import { DISCOVERY_PATH, DiscoveryEndpoint } from './discovery/handler';
import { ConfigError } from './errors';
import { createLogger, type Logger } from './logger';
import type { ProxyObserver } from './proxy/observer';
import { ReverseProxy } from './proxy/reverse-proxy';
import type { TlsMaterial } from './tls/material';

/** Express-style continuation: called for requests the gateway leaves to the host app. */
export type NextFunction = (err?: unknown) => void;

/**
 * A gateway: an Express-compatible middleware (also a plain `node:http` request listener)
 * that answers discovery itself and passes everything else on.
 */
export interface Gateway {
  (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void;
  /** Hand WebSocket upgrades to the gateway: `server.on('upgrade', gateway.upgrade)`. */
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  /** The discovery document as currently published. */
  readonly document: DiscoveryDocument;
  /** The resolved configuration (defaults filled in). */
  readonly config: ResolvedConfig;
  /** True once shutdown has begun: discovery and health answer 503. */
  readonly shuttingDown: boolean;
  /** Marks the gateway as shutting down without closing anything yet (the drain phase). */
  beginShutdown(): void;
  /** Stops probes, ends tunnels and frees timers. Idempotent. */
  close(): Promise<void>;
  on(event: 'close', listener: () => void): Gateway;
  off(event: 'close', listener: () => void): Gateway;
  once(event: 'close', listener: () => void): Gateway;
}

/** Internal construction options: what `startServer` passes besides the user's configuration. */
export interface GatewayInternals {
  readonly logger?: Logger | undefined;
  /** Sees every proxied request and tunnel (health tracker, metrics). @default a no-op */
  readonly proxyObserver?: ProxyObserver | undefined;
  /** The fail-fast seam: true while the upstream is `unhealthy`. @default () => false */
  readonly upstreamUnhealthy?: (() => boolean) | undefined;
}

/** The gateway's state and behaviour; `createGateway` wraps it in a callable middleware. */
export class GatewayCore extends EventEmitter {
  readonly config: ResolvedConfig;
  readonly logger: Logger;
  readonly discovery: DiscoveryEndpoint;
  /** HTTP forwarding and WebSocket tunnels to the upstream. */
  readonly proxy: ReverseProxy;
  private shutdownStarted = false;
  private closed: Promise<void> | undefined;

  constructor(loaded: LoadedConfig, internals: GatewayInternals = {}) {
    super();
    this.config = loaded.config;
    this.logger = internals.logger ?? createLogger(this.config.logLevel);
    this.discovery = new DiscoveryEndpoint(
      this.config.discovery.document,
      this.config.discovery.enabled,
      loaded.tls?.fingerprint,
      // Seam for the health tracker: discovery also answers 503 while the upstream is unhealthy.
      () => !this.shutdownStarted,
    );
    this.proxy = new ReverseProxy(this.config, {
      logger: this.logger,
      observer: internals.proxyObserver,
      upstreamUnhealthy: internals.upstreamUnhealthy,
    });
  }

  get shuttingDown(): boolean {
    return this.shutdownStarted;
  }

  /**
   * Routes one request: the gateway's own endpoints, everything else to the upstream.
   * Mounted in Express (`app.use(gateway)`), the host app's routes declared before it
   * answer first; `next` is never needed since every path is the upstream's.
   */
  handle(req: IncomingMessage, res: ServerResponse, _next?: NextFunction): void {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path === DISCOVERY_PATH) return this.discovery.handle(req, res);
    this.proxy.web(req, res);
  }

  /** WebSocket upgrades, on any path: tunnelled to the upstream. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.proxy.upgrade(req, socket, head);
  }

  /** Publishes a rotated certificate's fingerprint. */
  certificateChanged(material: TlsMaterial): void {
    this.discovery.setFingerprint(material.fingerprint);
  }

  beginShutdown(): void {
    if (this.shutdownStarted) return;
    this.shutdownStarted = true;
    this.logger.info({ event: 'shutdown' }, 'shutting down: discovery and health now answer 503');
  }

  close(): Promise<void> {
    this.closed ??= (async () => {
      this.beginShutdown();
      await this.proxy.close();
      this.emit('close');
    })();
    return this.closed;
  }
}

/** Wraps a core in the callable middleware shape users mount. */
export function wrapGateway(core: GatewayCore): Gateway {
  const middleware = (req: IncomingMessage, res: ServerResponse, next?: NextFunction): void => core.handle(req, res, next);
  const gateway = Object.defineProperties(middleware, {
    upgrade: { value: (req: IncomingMessage, socket: Duplex, head: Buffer) => core.upgrade(req, socket, head) },
    document: { get: () => core.discovery.document },
    config: { value: core.config },
    shuttingDown: { get: () => core.shuttingDown },
    beginShutdown: { value: () => core.beginShutdown() },
    close: { value: () => core.close() },
    on: { value: (event: string, listener: (...args: unknown[]) => void) => (core.on(event, listener), gateway) },
    off: { value: (event: string, listener: (...args: unknown[]) => void) => (core.off(event, listener), gateway) },
    once: { value: (event: string, listener: (...args: unknown[]) => void) => (core.once(event, listener), gateway) },
  }) as unknown as Gateway;
  return gateway;
}

/**
 * Creates a gateway to mount in an existing app (`app.use(gateway)`). Validates the
 * options once and throws `ConfigError` listing every problem.
 */
export function createGateway(options: GatewayOptions): Gateway {
  const { logger, registry: _registry, ...rest } = options ?? ({} as GatewayOptions);
  if (options === null || typeof options !== 'object') {
    throw new ConfigError([{ path: '(root)', message: 'expected an options object' }]);
  }
  return wrapGateway(new GatewayCore(resolveConfig(rest, 'library'), { logger }));
}
