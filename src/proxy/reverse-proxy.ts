import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ResolvedConfig } from '../config/options';
import type { Logger } from '../logger';
import { pathOf } from './client-info';
import { createForwarder } from './forward';
import { PathFilter } from './path-filter';
import { TrustedProxies } from './trusted-proxies';
import type { PoolStats } from '../net/pool-stats';
import { createHttpUpstream, type HttpUpstream } from './http-upstream';
import { NOOP_OBSERVER, type ProxyObserver } from './observer';
import { safeObserver } from './safe-observer';
import { WebSocketProxy } from './websocket';
import { createWsUpstream } from './ws-upstream';

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

/** The reverse proxy as a whole: HTTP forwarding and WebSocket tunnels to one upstream. */
export class ReverseProxy {
  private readonly http: HttpUpstream;
  private readonly websockets: WebSocketProxy;
  private isClosed = false;
  private readonly paths: PathFilter;
  private closing: Promise<void> | undefined;
  /** Forwards one HTTP request (node:http signature). */
  readonly web: (req: IncomingMessage, res: ServerResponse) => void;

  /** `proxy.trustedProxies`: also where the rate limiter learns a client's address. */
  readonly trustedProxies: TrustedProxies;

  constructor(config: ResolvedConfig, hooks: ReverseProxyHooks) {
    this.http = createHttpUpstream(config.upstream, config.proxy.maxConnections);
    this.paths = new PathFilter(config.proxy.paths);
    this.trustedProxies = new TrustedProxies(config.proxy.trustedProxies);
    const shared = {
      observer: hooks.observer ? safeObserver(hooks.observer, hooks.logger) : NOOP_OBSERVER,
      logger: hooks.logger,
      timeoutMs: config.proxy.timeoutMs,
      failFast: config.proxy.failFast,
      // `DocumentTemplate` is an Omit over an index signature, so the field reads as unknown.
      federationEnabled: config.discovery.document.federation_enabled !== false,
      upstreamUnhealthy: hooks.upstreamUnhealthy ?? (() => false),
      paths: this.paths,
      trustedProxies: this.trustedProxies,
      closed: () => this.isClosed,
    };
    this.web = createForwarder({ ...shared, upstream: this.http, maxBodyBytes: config.proxy.maxBodyBytes, parsedBody: config.proxy.parsedBody });
    this.websockets = new WebSocketProxy({ ...shared, upstream: createWsUpstream(config.upstream), answerHeaders: hooks.answerHeaders });
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
    return this.http.stats;
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
