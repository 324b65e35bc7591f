import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ResolvedConfig } from '../config/options';
import type { Logger } from '../logger';
import { pathOf } from './client-info';
import { createForwarder, type ForwarderOptions } from './forward';
import { PathFilter } from './path-filter';
import { TrustedProxies } from './trusted-proxies';
import type { PoolStats } from '../net/pool-stats';
import { createHttpUpstream, type HttpUpstream } from './http-upstream';
import { NOOP_OBSERVER, type ProxyObserver } from './observer';
import { safeObserver } from './safe-observer';
import type { ProxyRules } from './rules';
import { WebSocketProxy, type WebSocketProxyOptions } from './websocket';
import { createWsUpstream, type WsUpstream } from './ws-upstream';

/** The seams the gateway plugs the proxy into. */
export interface ReverseProxyHooks {
  readonly logger: Logger;
  /** Sees every request outcome and tunnel (health tracker, metrics). @default a no-op */
  readonly observer?: ProxyObserver | undefined;
  /** The fail-fast seam: true while the upstream is `unhealthy`. @default () => false */
  readonly upstreamUnhealthy?: (() => boolean) | undefined;
  /** Headers on every refusal written on an upgrade socket. @default none */
  readonly answerHeaders?: OutgoingHttpHeaders | undefined;
}

/** How long tunnels get to finish their closing handshake on `close()` before being cut. */
const TUNNEL_CLOSE_GRACE_MS = 2000;

/**
 * The reverse proxy as a whole: HTTP forwarding and WebSocket tunnels to one upstream.
 * Its settings can be replaced while it runs (`reconfigure`): each request and handshake
 * keeps the settings it started with, and a new upstream gets a new pool while the old
 * one finishes what it carries.
 */
export class ReverseProxy {
  private http: HttpUpstream;
  private ws: WsUpstream;
  private forwarder: (req: IncomingMessage, res: ServerResponse) => void;
  private readonly websockets: WebSocketProxy;
  private isClosed = false;
  private paths: PathFilter;
  private trusted: TrustedProxies;
  private settings: ProxySettings;
  private closing: Promise<void> | undefined;
  private readonly observer: ProxyObserver;
  /** Dispatches on the pool in force when the request is sent (a pipelined one may wait past a reload). */
  private readonly currentHttp: HttpUpstream = {
    forward: (req, res, call) => this.http.forward(req, res, call),
    stats: { inUse: () => this.http.stats.inUse(), free: () => this.http.stats.free() },
    close: () => this.http.close(),
  };
  private readonly currentWs: WsUpstream = { handshake: (req, socket, head, call) => this.ws.handshake(req, socket, head, call) };

  /** Forwards one HTTP request (node:http signature), with the settings in force when it arrives. */
  readonly web = (req: IncomingMessage, res: ServerResponse): void => this.forwarder(req, res);

  constructor(
    config: ResolvedConfig,
    private readonly hooks: ReverseProxyHooks,
  ) {
    this.settings = proxySettings(config);
    this.observer = hooks.observer ? safeObserver(hooks.observer, hooks.logger) : NOOP_OBSERVER;
    this.http = createHttpUpstream(config.upstream, config.proxy.maxConnections, config.proxy.engine);
    this.ws = createWsUpstream(config.upstream);
    this.paths = new PathFilter(config.proxy.paths);
    this.trusted = new TrustedProxies(config.proxy.trustedProxies);
    this.forwarder = createForwarder(this.forwarderOptions());
    this.websockets = new WebSocketProxy(this.websocketOptions());
  }

  /** `proxy.trustedProxies`: also where the rate limiter learns a client's address. */
  get trustedProxies(): TrustedProxies {
    return this.trusted;
  }

  /**
   * Takes new settings (live reload): timeouts, fail-fast, body cap and mode, paths, trusted
   * proxies, the federation guard, the upstream and its connection cap. Requests and
   * handshakes in flight finish with what they started with, open tunnels are untouched; a
   * new upstream or cap gets a new pool and the old pool closes once its requests are done.
   */
  reconfigure(config: ResolvedConfig): void {
    const next = proxySettings(config);
    const previous = this.settings;
    this.settings = next;
    if (next.upstream !== previous.upstream || next.maxConnections !== previous.maxConnections || next.engine !== previous.engine) {
      const old = this.http;
      this.http = createHttpUpstream(config.upstream, next.maxConnections, next.engine);
      // close() lets the requests already carried finish, then frees the sockets.
      old.close();
    }
    if (next.upstream !== previous.upstream) this.ws = createWsUpstream(config.upstream);
    if (!sameList(next.paths, previous.paths)) this.paths = new PathFilter(next.paths);
    if (!sameList(next.trustedProxies, previous.trustedProxies)) this.trusted = new TrustedProxies(next.trustedProxies);
    // Rebuilt only when something it holds changed: its once-per-gateway notices stay once.
    if (!sameSettings(next, previous)) {
      this.forwarder = createForwarder(this.forwarderOptions());
      this.websockets.reconfigure(this.websocketOptions());
    }
  }

  private sharedRules(): ProxyRules {
    const { settings, hooks } = this;
    return {
      observer: this.observer,
      logger: hooks.logger,
      timeoutMs: settings.timeoutMs,
      failFast: settings.failFast,
      federationEnabled: settings.federationEnabled,
      upstreamUnhealthy: hooks.upstreamUnhealthy ?? (() => false),
      paths: this.paths,
      trustedProxies: this.trusted,
      closed: () => this.isClosed,
    };
  }

  private forwarderOptions(): ForwarderOptions {
    return { ...this.sharedRules(), upstream: this.currentHttp, maxBodyBytes: this.settings.maxBodyBytes, parsedBody: this.settings.parsedBody };
  }

  private websocketOptions(): WebSocketProxyOptions {
    return { ...this.sharedRules(), upstream: this.currentWs, answerHeaders: this.hooks.answerHeaders };
  }

  /** True when `proxy.paths` has the request target (path and query) forwarded; the default says yes without looking. */
  forwards(target: string): boolean {
    return this.paths.everything || this.paths.forwards(pathOf(target));
  }

  /** Tunnels an upgrade (node:http 'upgrade' signature). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.websockets.upgrade(req, socket, head);
  }

  /** The keep-alive pool to the upstream, as metrics read it. */
  get pool(): PoolStats {
    return this.currentHttp.stats;
  }

  /** Ends every tunnel with a Close frame (1001) and waits for them, without refusing new traffic. */
  closeTunnels(): Promise<void> {
    return this.websockets.closeAll(TUNNEL_CLOSE_GRACE_MS);
  }

  /** WebSocket tunnels currently open. */
  get openTunnels(): number {
    return this.websockets.openTunnels;
  }

  /**
   * Refuses new traffic (503), closes every tunnel with 1001 and frees the pooled upstream
   * connections. Requests still in flight keep their connection until it closes.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.isClosed = true;
      await this.websockets.closeAll(TUNNEL_CLOSE_GRACE_MS);
      this.http.close();
    })();
    return this.closing;
  }
}

/** What the proxy takes from the resolved configuration. */
interface ProxySettings {
  readonly upstream: string;
  readonly maxConnections: number;
  readonly engine: ResolvedConfig['proxy']['engine'];
  readonly timeoutMs: number;
  readonly failFast: boolean;
  readonly maxBodyBytes: number;
  readonly parsedBody: ResolvedConfig['proxy']['parsedBody'];
  readonly paths: readonly string[];
  readonly trustedProxies: readonly string[];
  readonly federationEnabled: boolean;
}

function proxySettings(config: ResolvedConfig): ProxySettings {
  const { proxy } = config;
  return {
    upstream: config.upstream.href,
    maxConnections: proxy.maxConnections,
    engine: proxy.engine,
    timeoutMs: proxy.timeoutMs,
    failFast: proxy.failFast,
    maxBodyBytes: proxy.maxBodyBytes,
    parsedBody: proxy.parsedBody,
    paths: proxy.paths,
    trustedProxies: proxy.trustedProxies,
    // `DocumentTemplate` is an Omit over an index signature, so the field reads as unknown.
    federationEnabled: config.discovery.document.federation_enabled !== false,
  };
}

function sameSettings(a: ProxySettings, b: ProxySettings): boolean {
  return (Object.keys(a) as (keyof ProxySettings)[]).every((key) => {
    const x = a[key];
    const y = b[key];
    return Array.isArray(x) && Array.isArray(y) ? sameList(x, y) : x === y;
  });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
