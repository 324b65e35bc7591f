import http, { type ClientRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import https, { type RequestOptions } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
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
 * Handshakes over `node:http`'s client, each on a connection of its own: it relays the 101
 * or the refusal, then pipes the two sockets. The wire behaviour is that of `http-proxy-3`'s
 * WebSocket pass, which the gateway used before; what differs is what stays in memory for
 * the life of a tunnel: nothing of the handshake (request, response, their headers, the
 * call) is referenced once the sockets are piped, only the two sockets and the tunnel.
 */
export function createWsUpstream(upstream: URL): WsUpstream {
  const secure = upstream.protocol === 'https:';
  const send = secure ? https.request : http.request;
  const hostname = upstream.hostname.startsWith('[') ? upstream.hostname.slice(1, -1) : upstream.hostname;
  const base: RequestOptions = {
    hostname,
    port: Number(upstream.port) || (secure ? 443 : 80),
    method: 'GET',
    // A connection of its own, closed with the tunnel: never a pooled one.
    agent: false,
    ...(secure && { rejectUnauthorized: true, ...sniOf(upstream) }),
  };

  return {
    handshake(req, socket, head, call) {
      // Header values are Latin-1 strings (one char per byte): written as Latin-1, obs-text
      // bytes of a relayed head arrive as the upstream sent them. Everything else on this
      // socket is written as Buffers.
      socket.setDefaultEncoding('latin1');
      setupSocket(socket);
      if (head.length > 0) socket.unshift(head);
      const upstreamReq = send({ ...base, path: upstreamPath(call.target), headers: upstreamHeaders(call.headers) });
      call.onRequest(upstreamReq);
      const failed = (err: Error): void => {
        call.onError(err);
        destroySoon(socket);
      };
      upstreamReq.on('error', failed);
      upstreamReq.on('upgrade', (upstreamRes: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
        call.beforeUpgrade();
        // After the upgrade the tunnel owns both sockets: an upstream error only ends it.
        upstreamSocket.on('error', tunnelError);
        setupSocket(upstreamSocket);
        if (upstreamHead.length > 0) upstreamSocket.unshift(upstreamHead);
        socket.write(responseHead('HTTP/1.1 101 Switching Protocols', upstreamRes.headers));
        upstreamSocket.pipe(socket).pipe(upstreamSocket);
        call.onUpgrade(upstreamSocket);
      });
      upstreamReq.on('response', (upstreamRes: IncomingMessage) => {
        call.onResponse(upstreamRes);
        relayRefusal(req, socket, upstreamRes);
      });
      upstreamReq.end();
    },
  };
}

/**
 * The request target as sent upstream: the client's, with one exception kept from the
 * earlier engine, an empty query (`/path?`) goes without its `?`.
 */
function upstreamPath(target: string): string {
  const q = target.indexOf('?');
  if (q === -1 || q < target.length - 1) return target;
  return target.slice(0, q);
}

const UPGRADE_TOKEN = /(^|,)\s*upgrade\s*($|,)/i;

/** The handshake's headers on their own connection: no `Trailer`, and `Connection: close` unless it names the upgrade. */
function upstreamHeaders(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...headers };
  for (const name in out) {
    if (name.toLowerCase() === 'trailer') {
      delete out[name];
      break;
    }
  }
  if (typeof out.connection !== 'string' || !UPGRADE_TOKEN.test(out.connection)) out.connection = 'close';
  return out;
}

/**
 * The upstream refused the upgrade (401, 503, …): its status and headers (`onResponse` has
 * already filtered them) and its body go to the client, chunked when an HTTP/1.1 client
 * gets no length, then the socket ends.
 */
function relayRefusal(req: IncomingMessage, socket: Duplex, upstreamRes: IncomingMessage): void {
  const headers = upstreamRes.headers as OutgoingHttpHeaders;
  delete headers['transfer-encoding'];
  if (req.httpVersion === '1.0') headers.connection = req.headers.connection ?? 'close';
  else if (req.httpVersion !== '2.0' && !headers.connection) headers.connection = req.headers.connection ?? 'keep-alive';
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || value === null) continue;
    out[name.trim()] = value;
  }
  const statusMessage = upstreamRes.statusMessage && req.httpVersionMajor === 1 ? upstreamRes.statusMessage : '';
  const chunked = req.httpVersion === '1.1' && headers['content-length'] === undefined;
  if (chunked) out['transfer-encoding'] = 'chunked';
  if (socket.destroyed) {
    upstreamRes.resume();
    return;
  }
  socket.write(responseHead(`HTTP/${req.httpVersion} ${upstreamRes.statusCode ?? 200} ${statusMessage}`, out));
  upstreamRes.on('data', (chunk: Buffer) => writeChunk(socket, chunk, chunked));
  upstreamRes.on('end', () => {
    if (chunked) socket.write('0\r\n\r\n');
    destroySoon(socket);
  });
}

function writeChunk(socket: Duplex, chunk: Buffer, chunked: boolean): void {
  if (!chunked) {
    socket.write(chunk);
    return;
  }
  socket.write(chunk.length.toString(16));
  socket.write('\r\n');
  socket.write(chunk);
  socket.write('\r\n');
}

/** A response head from a status line and headers (one line per value of a repeated header). */
function responseHead(statusLine: string, headers: OutgoingHttpHeaders | IncomingMessage['headers']): string {
  let head = statusLine;
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) head += `\r\n${name}: ${v}`;
    else head += `\r\n${name}: ${String(value)}`;
  }
  return `${head}\r\n\r\n`;
}

/** No idle timeout (the host server's would cut a quiet tunnel), no Nagle delay, TCP keep-alive on. */
function setupSocket(socket: Duplex): void {
  const s = socket as Partial<Socket>;
  s.setTimeout?.(0);
  s.setNoDelay?.(true);
  s.setKeepAlive?.(true, 0);
}

/** Ends a socket and destroys it once its last bytes are written (net.Socket#destroySoon). */
function destroySoon(socket: Duplex): void {
  const s = socket as Partial<Socket>;
  if (typeof s.destroySoon === 'function') s.destroySoon();
  else socket.end();
}

/** An upstream socket error once the tunnel is open: its 'close' follows and ends the tunnel. */
function tunnelError(): void {}
