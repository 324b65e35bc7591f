import { Agent as HttpAgent, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex, Readable } from 'node:stream';
import { ProxyServer, type ServerOptions } from 'http-proxy-3';
import { sniOf } from '../http/upstream-sni';

/**
 * The keep-alive pool to the upstream: every proxied request of the gateway goes through
 * one. LIFO hands out the most recently used socket, so under light load the others idle
 * out instead of each being kept barely alive (and racing the upstream's keep-alive timeout).
 */
export function createUpstreamAgent(upstream: URL): HttpAgent {
  const options = { keepAlive: true, scheduling: 'lifo' as const, maxFreeSockets: 256 };
  return upstream.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
}

/** The error an engine reports when the upstream's response body breaks off before its end. */
export function responseCutShort(): Error {
  return Object.assign(new Error('the upstream response ended before its body was complete'), { code: 'ECONNRESET' });
}

/** What the caller may do with the upstream request: destroy it (with the reason, if any). */
export interface UpstreamRequest {
  destroy(err?: Error): unknown;
}

/** What the caller reads of the upstream response (a node:http `IncomingMessage` fits). */
export interface UpstreamResponse {
  readonly statusCode?: number | undefined;
  readonly statusMessage?: string | undefined;
  /** Lower-case names; duplicates folded as node:http folds them. */
  readonly headers: IncomingHttpHeaders;
}

/** The sockets of an engine's keep-alive pool, as metrics read them (a node:http `Agent` fits). */
export interface SocketPool {
  readonly sockets: NodeJS.ReadOnlyDict<readonly unknown[]>;
  readonly freeSockets: NodeJS.ReadOnlyDict<readonly unknown[]>;
}

/** Which side broke when the engine reports an error. */
export type ErrorSide = 'upstream' | 'client';

/** One HTTP request handed to the engine, with the hooks through which the caller steers it. */
export interface WebCall {
  /** Exactly the headers the upstream receives (already filtered; see `headers.ts`). */
  readonly headers: OutgoingHttpHeaders;
  /**
   * The request body to send: the request itself, or a stream the caller pipes it into;
   * null when the request has none (the upstream request is ended at once).
   */
  readonly body: Readable | null;
  /** The upstream request exists (called once, before any byte of it is answered). The caller aborts it when the client goes away. */
  onRequest(upstreamReq: UpstreamRequest): void;
  /** Upstream response headers arrived; returns exactly the headers to relay (status and reason phrase are the upstream's). */
  onResponse(upstreamRes: UpstreamResponse): OutgoingHttpHeaders;
  /**
   * Talking to the upstream failed (also after the response headers: a response body cut
   * short), or the client's request stream broke.
   */
  onError(err: Error, side: ErrorSide): void;
}

/** One WebSocket handshake handed to the engine. */
export interface WsCall {
  /** Exactly the headers the upstream receives with the handshake. */
  readonly headers: OutgoingHttpHeaders;
  /** The upstream handshake request exists. */
  onRequest(upstreamReq: ClientRequest): void;
  /** The upstream switched protocols; called before the 101 is relayed and the sockets are piped. */
  beforeUpgrade(): void;
  /** The upstream switched protocols; the 101 has been relayed and both sockets are piped. */
  onUpgrade(upstreamSocket: Socket): void;
  /** The upstream answered with a plain HTTP response (401, 503, …); the engine relays it, then ends the socket. */
  onResponse(upstreamRes: IncomingMessage): void;
  /** The handshake or the tunnel failed on the upstream side; the engine ends the client socket after this. */
  onError(err: Error): void;
}

/**
 * The thin interface over the proxy library, so the engine can be swapped (the benchmark
 * decides). Everything gateway-specific (limits, timers, errors, tunnels) lives outside it.
 */
export interface ProxyEngine {
  web(req: IncomingMessage, res: ServerResponse, call: WebCall): void;
  ws(req: IncomingMessage, socket: Duplex, head: Buffer, call: WsCall): void;
  /** Frees pooled upstream connections. */
  close(): void;
  /** The keep-alive pool to the upstream, when the engine has one (metrics read its sockets). */
  readonly agent?: SocketPool | undefined;
}

/**
 * The engine on `http-proxy-3` 1.x (the maintained rewrite of `http-proxy`, same API;
 * 2.x needs Node 22). One keep-alive agent pools every upstream connection.
 *
 * http-proxy-3 reads the outgoing headers from `req.headers`; the engine lends it the
 * filtered set for the duration of the synchronous call and gives the host app its
 * request back unchanged afterwards. Its `proxyTimeout` is not used (a timeout would
 * surface as a reset); the caller runs its own timer and destroys the upstream request
 * with a typed error.
 */
export function createHttpProxy3Engine(upstream: URL, agent: HttpAgent = createUpstreamAgent(upstream)): ProxyEngine {
  const ssl = sniOf(upstream);
  const proxy = new ProxyServer({
    target: upstream,
    xfwd: false,
    // The raw request target, never re-parsed: `/a/../b` and `%2e%2e` reach the upstream as sent.
    toProxy: true,
    prependPath: false,
  });
  const webCalls = new WeakMap<IncomingMessage, WebCall>();
  const wsCalls = new WeakMap<IncomingMessage, WsCall>();
  const tunnels = new WeakMap<Socket, WsCall>();

  // Without an 'error' listener http-proxy throws; every error worth handling reaches the
  // per-call callback, what remains here are client socket errors on tunnels.
  proxy.on('error', () => undefined);
  proxy.on('econnreset', () => undefined);
  proxy.on('proxyReq', (upstreamReq, req) => webCalls.get(req)?.onRequest(upstreamReq));
  proxy.on('proxyRes', (upstreamRes, req) => {
    const call = webCalls.get(req);
    if (!call) return;
    upstreamRes.headers = call.onResponse(upstreamRes) as IncomingHttpHeaders;
    upstreamRes.once('close', () => {
      if (!upstreamRes.complete) call.onError(responseCutShort(), 'upstream');
    });
  });
  proxy.on('proxyReqWs', (upstreamReq, req) => {
    const call = wsCalls.get(req);
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
  // http-proxy-3's `deleteLength` pass turns a chunked DELETE/OPTIONS body into
  // `content-length: 0`, which would leave the body bytes on the pooled upstream connection
  // as a second request. Put the caller's headers back just before the request is made.
  proxy.before('web', 'stream', (req) => {
    const call = webCalls.get(req);
    if (call) req.headers = { ...call.headers } as IncomingHttpHeaders;
  });

  function lend<T>(req: IncomingMessage, headers: OutgoingHttpHeaders, run: () => T): T {
    const original = req.headers;
    req.headers = { ...headers } as IncomingHttpHeaders;
    try {
      return run();
    } finally {
      req.headers = original;
    }
  }

  return {
    web(req, res, call) {
      webCalls.set(req, call);
      const options: ServerOptions = { agent, ...(call.body && { buffer: call.body }), ...(ssl && { ssl }) };
      lend(req, call.headers, () =>
        proxy.web(req, res, options, (err: Error) => {
          const side: ErrorSide = req.errored === err || req.socket.destroyed ? 'client' : 'upstream';
          call.onError(err, side);
        }),
      );
    },
    ws(req, socket, head, call) {
      wsCalls.set(req, call);
      const options: ServerOptions = { ...(ssl && { ssl }) };
      lend(req, call.headers, () => proxy.ws(req, socket, head, options, (err: Error) => call.onError(err)));
    },
    close() {
      agent.destroy();
    },
    agent,
  };
}
