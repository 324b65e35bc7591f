import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FailureKind } from '../http/error-status';
import { writeSocketError } from '../http/json-error';
import { clientInfo, pathOf } from './client-info';
import { classifyUpstreamError, failureKindOf, UpstreamTimeoutError } from './failure';
import { federationRefused } from './federation-guard';
import { forwardUpgradeHeaders, relayResponseHeaders } from './headers';
import type { ProxyRules } from './rules';
import { Tunnel } from './tunnel';

/** What the WebSocket proxy needs: the rules shared with HTTP forwarding. */
export type WebSocketProxyOptions = ProxyRules;

/** Close code sent to both ends when the gateway goes away (RFC 6455 §7.4.1: 1001 "going away"). */
export const GOING_AWAY = 1001;

/** True for a WebSocket opening handshake (RFC 6455 §4.1): `GET` with `Upgrade: websocket`. */
export function isWebSocketHandshake(req: IncomingMessage): boolean {
  return req.method === 'GET' && (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/**
 * Tunnels WebSocket upgrades to the upstream (SPEC §5): handshake forwarded with
 * `Authorization`, query and `Sec-WebSocket-Protocol` untouched, then a raw byte tunnel.
 * A refused handshake (401, 503, …) is relayed; an unreachable or silent upstream gets
 * the client an HTTP error on the socket, never a hang.
 */
export class WebSocketProxy {
  private readonly tunnels = new Set<Tunnel>();

  constructor(private readonly options: WebSocketProxyOptions) {}

  /** Tunnels currently open. */
  get openTunnels(): number {
    return this.tunnels.size;
  }

  /** Takes over an upgrade the HTTP server handed out (`server.on('upgrade', …)`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { observer, timeoutMs, logger } = this.options;
    // A client socket error must never crash the process; 'close' does the cleanup.
    socket.on('error', () => undefined);

    const refuse = (kind: FailureKind): void => {
      observer.upgradeFailed('rejected');
      writeSocketError(socket, kind);
    };
    if (this.options.closed()) return refuse('unavailable');
    if (!isWebSocketHandshake(req)) return refuse('badUpgrade');
    if (federationRefused(pathOf(req.url), this.options.federationEnabled)) return refuse('federationDisabled');
    if (this.options.failFast && this.options.upstreamUnhealthy()) return refuse('failFast');

    let upstreamReq: ClientRequest | undefined;
    let pendingAbort: Error | undefined;
    let settled = false;
    const abortUpstream = (err?: Error): void => {
      if (upstreamReq) upstreamReq.destroy(err);
      else pendingAbort = err ?? new Error('client gone');
    };
    const timer = setTimeout(() => abortUpstream(new UpstreamTimeoutError(timeoutMs)), timeoutMs);
    const onClientGone = (): void => {
      clearTimeout(timer);
      if (settled) return;
      settled = true;
      observer.upgradeFailed('clientAborted');
      abortUpstream();
    };
    // The client socket is read during the handshake, or a client that leaves (FIN on a
    // half-open server socket) would go unnoticed; what it sends early is handed back below.
    const early: Buffer[] = [];
    const collect = (chunk: Buffer): void => void early.push(chunk);
    socket.on('data', collect);
    socket.once('end', onClientGone);
    socket.once('close', onClientGone);
    let watching = true;
    const stopWatching = (): void => {
      if (!watching) return;
      watching = false;
      socket.pause();
      socket.off('data', collect);
      socket.off('end', onClientGone);
      socket.off('close', onClientGone);
      if (early.length > 0) socket.unshift(Buffer.concat(early));
    };
    const settle = (): boolean => {
      clearTimeout(timer);
      stopWatching();
      if (settled) return false;
      settled = true;
      return true;
    };

    this.options.engine.ws(req, socket, head, {
      headers: forwardUpgradeHeaders(req.headers, clientInfo(req)),
      onRequest(r) {
        upstreamReq = r;
        if (pendingAbort) r.destroy(pendingAbort);
      },
      beforeUpgrade: stopWatching,
      onResponse: (upstreamRes: IncomingMessage) => {
        if (!settle()) return;
        const headers = relayResponseHeaders(upstreamRes.headers);
        headers.connection = 'close';
        upstreamRes.headers = headers as IncomingHttpHeaders;
        observer.upgradeFailed('upstreamRefusedUpgrade');
        logger.debug({ event: 'upgrade_refused', status: upstreamRes.statusCode }, 'upstream refused the WebSocket upgrade');
      },
      onUpgrade: (upstreamSocket: Socket) => {
        if (!settle()) {
          upstreamSocket.destroy();
          return;
        }
        if (socket.destroyed) {
          upstreamSocket.destroy();
          observer.upgradeFailed('clientAborted');
          return;
        }
        const tunnel = new Tunnel(socket, upstreamSocket);
        this.tunnels.add(tunnel);
        observer.tunnelOpened();
        logger.debug({ event: 'tunnel_open', tunnels: this.tunnels.size }, 'WebSocket tunnel opened');
        void tunnel.closed.then(() => {
          this.tunnels.delete(tunnel);
          observer.tunnelClosed();
          logger.debug({ event: 'tunnel_closed', tunnels: this.tunnels.size }, 'WebSocket tunnel closed');
        });
      },
      onError: (err: Error) => {
        // After the upgrade, a broken upstream socket simply ends the tunnel (the engine ends the client side).
        if (!settle()) return;
        const failure = classifyUpstreamError(err);
        observer.upgradeFailed(failure);
        logger.warn({ event: 'upgrade_error', failure, code: (err as { code?: unknown }).code }, 'WebSocket upgrade failed');
        writeSocketError(socket, failureKindOf(failure));
      },
    });
  }

  /** Ends every tunnel with a Close frame (1001) to both ends; resolves when all are closed. */
  async closeAll(graceMs = 2000): Promise<void> {
    await Promise.all([...this.tunnels].map((tunnel) => tunnel.shutdown(GOING_AWAY, 'gateway shutting down', graceMs)));
  }
}
