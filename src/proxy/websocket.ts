import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FailureKind } from '../http/error-status';
import { writeSocketError } from '../http/json-error';
import { requestTarget } from '../http/request-target';
import { clientInfo } from './client-info';
import { classifyUpstreamError, failureKindOf, UpstreamTimeoutError } from './failure';
import { federationRefused } from './federation-guard';
import { forwardUpgradeHeaders, relayResponseHeaders } from './headers';
import { checkRequest } from './request-checks';
import type { ProxyRules } from './rules';
import { requestIdOf } from './request-id';
import { keepTrustedForwarded } from './trusted-proxies';
import { Tunnel } from './tunnel';
import type { WsCall, WsUpstream } from './ws-upstream';

/** What the WebSocket proxy needs: the rules shared with HTTP forwarding, and the upstream. */
export interface WebSocketProxyOptions extends ProxyRules {
  readonly upstream: WsUpstream;
  /** Headers on every answer the gateway writes on the socket itself (`serve`: HSTS). */
  readonly answerHeaders?: OutgoingHttpHeaders | undefined;
}

/** Close code sent to both ends when the gateway goes away (RFC 6455 §7.4.1: 1001 "going away"). */
export const GOING_AWAY = 1001;

/** True for a WebSocket opening handshake (RFC 6455 §4.1): `GET` with `Upgrade: websocket`. */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/**
 * Tunnels WebSocket upgrades to the upstream: the handshake forwarded with
 * `Authorization`, query and `Sec-WebSocket-Protocol` untouched, then a raw byte tunnel.
 * A refused handshake (401, 503, …) is relayed; an unreachable or silent upstream gets
 * the client an HTTP error on the socket, never a hang.
 */
export class WebSocketProxy {
  private readonly tunnels = new Set<Tunnel>();

  constructor(private options: WebSocketProxyOptions) {}

  /** New settings (live reload): handshakes in flight keep theirs, open tunnels are raw byte pipes and keep going. */
  reconfigure(options: WebSocketProxyOptions): void {
    this.options = options;
  }

  /** Tunnels currently open. */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /** Takes over an upgrade the HTTP server handed out (`server.on('upgrade', …)`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { options } = this;
    // A client socket error must never crash the process; 'close' does the cleanup.
    socket.on('error', ignore);
    const decided = this.decide(req);
    if (typeof decided !== 'string') {
      options.observer.upgradeFailed('rejected');
      writeSocketError(socket, decided.kind, options.answerHeaders ? { ...options.answerHeaders, ...decided.headers } : decided.headers);
      return;
    }
    const trusted = options.trustedProxies.trusts(req);
    const headers = forwardUpgradeHeaders(req.headers, clientInfo(req));
    if (trusted) keepTrustedForwarded(headers, req.headers);
    const requestId = (headers['x-request-id'] = requestIdOf(req.headers, trusted));
    const handshake = new Handshake(options, socket, decided, headers, requestId, (tunnel) => this.track(tunnel));
    options.upstream.handshake(req, socket, head, handshake);
  }

  /** Ends every tunnel with a Close frame (1001) to both ends; resolves when all are closed. */
  async closeAll(graceMs: number): Promise<void> {
    await Promise.all([...this.tunnels].map((tunnel) => tunnel.shutdown(GOING_AWAY, 'gateway shutting down', graceMs)));
  }

  /** The origin-form target to tunnel to, or the answer the gateway gives itself instead. */
  private decide(req: IncomingMessage): string | { kind: FailureKind; headers?: OutgoingHttpHeaders | undefined } {
    const { options } = this;
    if (options.closed()) return { kind: 'unavailable' };
    // CONNECT (handed here by the sidecar) gets its 405 before being judged as a handshake.
    const checked = checkRequest(req, requestTarget(req));
    if (checked.verdict === 'refuse') return checked.refusal;
    if (checked.verdict !== 'forward' || !isWebSocketHandshake(req)) return { kind: 'badUpgrade' };
    if (!options.paths.forwards(checked.path)) return { kind: 'upgradeNotForwarded' };
    if (federationRefused(checked.path, options.federationEnabled)) return { kind: 'federationDisabled' };
    if (options.failFast && options.upstreamUnhealthy()) return { kind: 'failFast' };
    return checked.target;
  }

  private track(tunnel: Tunnel): void {
    const { observer, logger } = this.options;
    this.tunnels.add(tunnel);
    observer.tunnelOpened();
    logger.debug({ event: 'tunnel_open', tunnels: this.tunnels.size }, 'WebSocket tunnel opened');
    void tunnel.closed.then(() => {
      this.tunnels.delete(tunnel);
      observer.tunnelClosed();
      logger.debug({ event: 'tunnel_closed', tunnels: this.tunnels.size }, 'WebSocket tunnel closed');
    });
  }
}

/**
 * One WebSocket handshake in flight, from the client's upgrade request to a tunnel or an
 * answer: the upstream's `WsCall`, with the state of the handshake in one object.
 *
 * The client socket is read during the handshake, or a client that leaves (FIN on a
 * half-open server socket) would go unnoticed; what it sends early is handed back once
 * the upstream has switched protocols.
 */
class Handshake implements WsCall {
  private upstreamReq: ClientRequest | undefined = undefined;
  private pendingAbort: Error | undefined = undefined;
  private settled = false;
  private watching = true;
  private readonly early: Buffer[] = [];
  private readonly timer: NodeJS.Timeout;
  private readonly collect = (chunk: Buffer): void => void this.early.push(chunk);
  private readonly clientGone = (): void => this.onClientGone();

  constructor(
    private readonly options: WebSocketProxyOptions,
    private readonly socket: Duplex,
    readonly target: string,
    readonly headers: OutgoingHttpHeaders,
    private readonly requestId: string,
    private readonly opened: (tunnel: Tunnel) => void,
  ) {
    this.timer = setTimeout(timedOut, options.timeoutMs, this);
    socket.on('data', this.collect);
    socket.once('end', this.clientGone);
    socket.once('close', this.clientGone);
  }

  /** No answer to the handshake within `proxy.timeoutMs`. */
  timedOut(): void {
    this.abortUpstream(new UpstreamTimeoutError(this.options.timeoutMs));
  }

  onRequest(upstreamReq: ClientRequest): void {
    this.upstreamReq = upstreamReq;
    if (this.pendingAbort) upstreamReq.destroy(this.pendingAbort);
  }

  beforeUpgrade(): void {
    this.stopWatching();
  }

  onResponse(upstreamRes: IncomingMessage): void {
    if (!this.settle()) return;
    const headers = relayResponseHeaders(upstreamRes.headers);
    headers.connection = 'close';
    upstreamRes.headers = headers as IncomingHttpHeaders;
    this.options.observer.upgradeFailed('upstreamRefusedUpgrade');
    this.options.logger.debug({ event: 'upgrade_refused', requestId: this.requestId, status: upstreamRes.statusCode }, 'upstream refused the WebSocket upgrade');
  }

  onUpgrade(upstreamSocket: Socket): void {
    if (!this.settle()) {
      upstreamSocket.destroy();
      return;
    }
    if (this.socket.destroyed) {
      upstreamSocket.destroy();
      this.options.observer.upgradeFailed('clientAborted');
      return;
    }
    this.opened(new Tunnel(this.socket, upstreamSocket));
  }

  onError(err: Error): void {
    // After the upgrade, a broken upstream socket simply ends the tunnel (the client side is ended for us).
    if (!this.settle()) return;
    const failure = classifyUpstreamError(err);
    this.options.observer.upgradeFailed(failure);
    this.options.logger.warn({ event: 'upgrade_error', requestId: this.requestId, failure, code: (err as { code?: unknown }).code }, 'WebSocket upgrade failed');
    writeSocketError(this.socket, failureKindOf(failure), this.options.answerHeaders);
  }

  private onClientGone(): void {
    clearTimeout(this.timer);
    if (this.settled) return;
    this.settled = true;
    this.options.observer.upgradeFailed('clientAborted');
    this.abortUpstream();
  }

  private abortUpstream(err?: Error): void {
    if (this.upstreamReq) this.upstreamReq.destroy(err);
    else this.pendingAbort = err ?? new Error('client gone');
  }

  private stopWatching(): void {
    if (!this.watching) return;
    this.watching = false;
    const { socket } = this;
    socket.pause();
    socket.off('data', this.collect);
    socket.off('end', this.clientGone);
    socket.off('close', this.clientGone);
    if (this.early.length > 0) socket.unshift(Buffer.concat(this.early));
  }

  /** The handshake is decided: true the first time only. */
  private settle(): boolean {
    clearTimeout(this.timer);
    this.stopWatching();
    if (this.settled) return false;
    this.settled = true;
    return true;
  }
}

function timedOut(handshake: Handshake): void {
  handshake.timedOut();
}

function ignore(): void {}
