import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { ProxyServer, type ServerOptions } from 'http-proxy-3';
import { sniOf } from '../net/upstream-sni';

/** One WebSocket handshake handed to the upstream. */
export interface WsCall {
  /** The request target in origin form (path and query), exactly as the upstream receives it. */
  readonly target: string;
  /** Exactly the headers the upstream receives with the handshake. */
  readonly headers: OutgoingHttpHeaders;
  /** The upstream handshake request exists. */
  onRequest(upstreamReq: ClientRequest): void;
  /** The upstream switched protocols; called before the 101 is relayed and the sockets are piped. */
  beforeUpgrade(): void;
  /** The 101 has been relayed and both sockets are piped. */
  onUpgrade(upstreamSocket: Socket): void;
  /** The upstream answered with a plain HTTP response (401, 503, …); it is relayed, then the socket ends. */
  onResponse(upstreamRes: IncomingMessage): void;
  /** The handshake or the tunnel failed on the upstream side; the client socket is ended after this. */
  onError(err: Error): void;
}

/** WebSocket handshakes to the upstream, each on a connection of its own. */
export interface WsUpstream {
  handshake(req: IncomingMessage, socket: Duplex, head: Buffer, call: WsCall): void;
}

/**
 * Handshakes through `http-proxy-3`'s WebSocket pass (the maintained rewrite of
 * `http-proxy`): it relays the 101 or the refusal, then pipes the two sockets. It reads
 * the outgoing target and headers from `req.url` and `req.headers`, so the checked target
 * and the filtered set are lent to it for the synchronous call and the host app gets its
 * request back unchanged.
 */
export function createWsUpstream(upstream: URL): WsUpstream {
  const ssl = sniOf(upstream);
  const proxy = new ProxyServer({
    target: upstream,
    xfwd: false,
    // The raw request target, never re-parsed: `/a/../b` reaches the upstream as sent.
    toProxy: true,
    prependPath: false,
  });
  const calls = new WeakMap<IncomingMessage, WsCall>();
  const tunnels = new WeakMap<Socket, WsCall>();

  // Every error worth handling reaches the per-call callback; what remains are client socket errors on tunnels.
  proxy.on('error', () => undefined);
  proxy.on('econnreset', () => undefined);
  proxy.on('proxyReqWs', (upstreamReq, req) => {
    const call = calls.get(req);
    if (!call) return;
    call.onRequest(upstreamReq);
    // Registered before http-proxy-3's own listeners, so these run first.
    upstreamReq.on('upgrade', (_res: IncomingMessage, upstreamSocket: Socket) => {
      tunnels.set(upstreamSocket, call);
      call.beforeUpgrade();
    });
    upstreamReq.on('response', (upstreamRes: IncomingMessage) => call.onResponse(upstreamRes));
  });
  proxy.on('open', (upstreamSocket) => tunnels.get(upstreamSocket)?.onUpgrade(upstreamSocket));
  const options: ServerOptions = { ...(ssl && { ssl }) };

  return {
    handshake(req, socket, head, call) {
      calls.set(req, call);
      // http-proxy-3 writes the relayed response head (the 101, or the upstream's refusal) as a
      // JS string, which a socket encodes as UTF-8 by default: header values are Latin-1 strings
      // (one char per byte), so obs-text bytes would arrive re-encoded. As Latin-1 they arrive as
      // the upstream sent them. Everything else on this socket is written as Buffers.
      socket.setDefaultEncoding('latin1');
      const { headers, url } = req;
      req.headers = { ...call.headers } as IncomingMessage['headers'];
      req.url = call.target;
      try {
        proxy.ws(req, socket, head, options, (err: Error) => call.onError(err));
      } finally {
        req.headers = headers;
        req.url = url;
      }
    },
  };
}
