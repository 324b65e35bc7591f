import { request as httpRequest, type Agent, type ClientRequest, type IncomingMessage, type RequestOptions, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createHttpProxy3Engine, createUpstreamAgent, responseCutShort, sniOf, type ProxyEngine, type WebCall } from './engine';

/** Where the per-request state rides on the objects whose events the shared listeners receive. */
const kPass = Symbol('cryptid.pass');

/** One request in flight: what the shared listeners below need, in one small object. */
class Pass {
  constructor(
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly call: WebCall,
  ) {}
}

type Tagged<T> = T & { [kPass]?: Pass };

/**
 * The engine on `node:http`'s own client (SPEC §5), the default before undici's: one
 * `request()` per proxied request on a pooled keep-alive socket, the body piped in (or
 * the request ended at once when there is none), the response's status, reason phrase
 * and the caller's headers written once, its body piped out. Backpressure both ways is
 * the normal `pipe` one.
 *
 * Per request it allocates the client request, one small state object and, only for a
 * request with a body, one listener; the event listeners are shared functions that find
 * their request through a symbol. Nothing is retried, nothing outlives the exchange: the
 * caller destroys the upstream request when the client goes away, and a response cut
 * short is reported so that the caller ends the client connection.
 *
 * WebSocket upgrades go through `http-proxy-3`'s tunnel, on the same agent: its round
 * trips already meet the target against the bare engine (see the README's benchmarks).
 */
export function createNodeHttpEngine(upstream: URL): ProxyEngine {
  const agent: Agent = createUpstreamAgent(upstream);
  const secure = upstream.protocol === 'https:';
  const request = secure ? httpsRequest : httpRequest;
  // The WHATWG URL keeps IPv6 literals in brackets; the socket wants the bare address.
  const hostname = upstream.hostname.startsWith('[') ? upstream.hostname.slice(1, -1) : upstream.hostname;
  const port = upstream.port === '' ? (secure ? 443 : 80) : Number(upstream.port);
  const servername = sniOf(upstream)?.servername;
  const websockets = createHttpProxy3Engine(upstream, agent);

  return {
    web(req, res, call) {
      const url = req.url ?? '/';
      const options: RequestOptions & { servername?: string } = {
        agent,
        hostname,
        port,
        method: req.method,
        // The raw request target, never re-parsed: `/a/../b` and `%2e%2e` reach the upstream as sent.
        path: url.charCodeAt(0) === 0x2f /* "/" */ ? url : `/${url}`,
        headers: call.headers,
      };
      if (servername !== undefined) options.servername = servername;
      let upstreamReq: Tagged<ClientRequest>;
      try {
        upstreamReq = request(options);
      } catch (err) {
        // Node refused to build the request (a value it will not send): the upstream was never contacted.
        call.onError(err as Error, 'upstream');
        return;
      }
      const pass = new Pass(req, res, call);
      upstreamReq[kPass] = pass;
      upstreamReq.on('response', relayResponse);
      upstreamReq.on('error', upstreamError);
      call.onRequest(upstreamReq);
      const body = call.body;
      if (body === null) {
        upstreamReq.end();
        return;
      }
      // The client's request stream broke (aborted upload, bad chunking).
      req.on('error', (err: Error) => call.onError(err, 'client'));
      body.pipe(upstreamReq);
    },
    ws: websockets.ws,
    close() {
      agent.destroy();
    },
    agent,
  };
}

function upstreamError(this: Tagged<ClientRequest>, err: Error): void {
  const pass = this[kPass];
  if (!pass) return;
  // A request destroyed because its client left reports as the client's.
  pass.call.onError(err, pass.req.socket.destroyed ? 'client' : 'upstream');
}

function relayResponse(this: Tagged<ClientRequest>, upstreamRes: Tagged<IncomingMessage>): void {
  const pass = this[kPass];
  if (!pass) return;
  const { req, res, call } = pass;
  const headers = call.onResponse(upstreamRes);
  if (res.headersSent || res.destroyed) {
    // The gateway already answered (or the client left): the upstream's answer has nowhere to go.
    this.destroy();
    return;
  }
  try {
    const reason = req.httpVersionMajor === 1 ? upstreamRes.statusMessage : undefined;
    if (reason) res.writeHead(upstreamRes.statusCode as number, reason, headers);
    else res.writeHead(upstreamRes.statusCode as number, headers);
  } catch (err) {
    // A status or header Node will not write: as if the upstream had answered something that is not HTTP.
    this.destroy();
    call.onError(Object.assign(err as Error, { code: 'HPE_INVALID_RESPONSE' }), 'upstream');
    return;
  }
  upstreamRes[kPass] = pass;
  upstreamRes.once('close', responseClosed);
  upstreamRes.pipe(res);
}

function responseClosed(this: Tagged<IncomingMessage>): void {
  const pass = this[kPass];
  // The upstream broke off mid-body; the caller ends the client connection (SPEC §5).
  if (pass && !this.complete && !pass.res.destroyed) pass.call.onError(responseCutShort(), 'upstream');
}
