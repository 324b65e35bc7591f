import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { ConnectionPool, DEFAULT_IDLE_MS, IDLE_MARGIN_MS, MAX_IDLE_MS, type ConnectionUser, type PooledConnection } from '../net/h1-pool';
import { headerLines, invalidHeader, requestLineValid } from '../net/h1-request';
import { ResponseParser, type ResponseHead, type ResponseSink } from '../net/h1-response';
import { flusherOf } from './flush';
import { foldRawHeaders } from './fold-headers';
import type { HttpCall, HttpUpstream, UpstreamRequest } from './http-upstream';
import { responseCutShort } from './failure';

/** The methods whose request carries a body by meaning: sent without one, they say `Content-Length: 0`. */
const PAYLOAD_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/** The error a request is destroyed with when its caller gives no reason. */
function aborted(): Error {
  return Object.assign(new Error('the request was aborted'), { code: 'UND_ERR_ABORTED' });
}

/**
 * The upstream over the gateway's own HTTP/1.1 client: a pool of plain `node:net` (or
 * `node:tls`) keep-alive connections, the request head written in one piece, the response
 * read by `ResponseParser`. It does what undici's `Pool.dispatch` did for the gateway and
 * nothing more (no retries, redirects or timers of its own), for a quarter to a third less
 * CPU per request and without undici's memory (see docs/operations.md).
 */
export function createNetUpstream(upstream: URL, maxConnections: number): HttpUpstream {
  const pool = new ConnectionPool(upstream, maxConnections);
  const host = upstream.host;
  return {
    forward(req, res, call) {
      new NetExchange(pool, host, req, res, call).start();
    },
    stats: { inUse: () => pool.inUse, free: () => pool.free },
    close() {
      pool.close();
    },
  };
}

/** One request on one pooled connection: the upstream request the caller may destroy. */
class NetExchange implements UpstreamRequest, ConnectionUser, ResponseSink {
  private connection: PooledConnection | null = null;
  private cancelWait: (() => void) | null = null;
  private readonly parser: ResponseParser;
  /** The caller has been told how the exchange ended, or the response was relayed in full. */
  private done = false;
  /** The response head is out: an error from now on means a body cut short. */
  private relaying = false;
  /** The whole request (head and body) has been written. */
  private sent = false;
  /** Writes the request body, until it is all sent. */
  private pipe: BodyPipe | null = null;
  private readonly flush: (() => void) | null;
  /** Inside `parser.execute`: a response that ends there is settled after it returns. */
  private parsing = false;
  /** The response ended and its connection is not yet given back. */
  private complete = false;
  /** The header lines, checked in `start`. */
  private fields = '';
  /** The last chunk of a body of declared length, written with the end. */
  private finalChunk: Buffer | null = null;
  /** Waiting for the client's 'drain' (one listener however many chunks a read holds). */
  private draining = false;

  constructor(
    private readonly pool: ConnectionPool,
    private readonly host: string,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly call: HttpCall,
  ) {
    this.parser = new ResponseParser(req.method ?? 'GET', this);
    this.flush = flusherOf(res);
  }

  start(): void {
    this.call.onRequest(this);
    if (this.done) return;
    // The request line and headers are checked before a connection is taken: a host app's
    // middleware may have rewritten them, and a line break there would be a request of its own.
    const fields = requestLineValid(this.req.method ?? 'GET', this.call.target) ? headerLines(this.call.headers) : null;
    if (fields === null) return this.fail(invalidHeader());
    this.fields = fields;
    this.cancelWait = this.pool.acquire((connection) => this.send(connection));
  }

  private send(connection: PooledConnection): void {
    this.cancelWait = null;
    this.connection = connection;
    connection.user = this;
    const socket = connection.socket;
    const { call, req } = this;
    const method = req.method ?? 'GET';
    const headers = call.headers;
    const body = call.body;
    const fields = this.fields;
    let head = `${method} ${call.target} HTTP/1.1\r\n`;
    if (headers.host === undefined) head += `host: ${this.host}\r\n`;
    // Said, not assumed, as undici says it: an HTTP/1.0 upstream keeps the connection too.
    head += fields + 'connection: keep-alive\r\n';
    const chunked = body !== null && headers['content-length'] === undefined;
    if (chunked && headers['transfer-encoding'] === undefined) head += 'transfer-encoding: chunked\r\n';
    if (body === null && headers['content-length'] === undefined && headers['transfer-encoding'] === undefined && PAYLOAD_METHODS.has(method)) head += 'content-length: 0\r\n';
    head += '\r\n';
    if (body === null) {
      this.sent = true;
      socket.write(head, 'latin1');
      return;
    }
    socket.cork();
    socket.write(head, 'latin1');
    // Listening first: the body's 'data' listener resumes it on the next tick, ahead of the
    // uncork, so a first read already at hand (usually part of the head's own TCP read)
    // goes out with the head in one write.
    this.pipe = new BodyPipe(this, socket, body, req, chunked);
    process.nextTick(uncork, socket);
  }

  /** The request body has been written in full. */
  bodySent(): void {
    this.sent = true;
    this.pipe = null;
  }

  /** A chunk of the body was written. */
  progress(): void {
    this.call.onProgress();
  }

  /** The client's request stream broke (aborted upload, bad chunking): the client's side. */
  clientError(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.dropSocket();
    this.call.onError(err, 'client');
  }

  // ConnectionUser

  onData(chunk: Buffer): void {
    if (this.done) return;
    let extra: number;
    this.parsing = true;
    try {
      extra = this.parser.execute(chunk);
    } catch (err) {
      this.parsing = false;
      return this.fail(err as Error);
    }
    this.parsing = false;
    // The response ended in this read: the connection is given back only now, once it is
    // known whether bytes followed the response (they answer nothing asked: no reuse).
    if (this.complete) this.finishExchange(extra === 0);
  }

  onClosed(err: Error | null): void {
    this.connection = null;
    if (this.done) return;
    if (err === null) {
      try {
        this.parser.finish();
        return;
      } catch (parseErr) {
        return this.fail(parseErr as Error);
      }
    }
    this.fail(err);
  }

  // ResponseSink

  onHead(head: ResponseHead): void {
    const { res, call, req } = this;
    const headers = call.onResponse({ statusCode: head.statusCode, statusMessage: head.statusMessage, headers: foldRawHeaders(head.rawHeaders) });
    if (res.headersSent || res.destroyed) {
      // The gateway already answered (or the client left): the answer has nowhere to go.
      this.done = true;
      this.dropSocket();
      return;
    }
    try {
      if (req.httpVersionMajor === 1 && head.statusMessage) res.writeHead(head.statusCode, head.statusMessage, headers);
      else res.writeHead(head.statusCode, headers as OutgoingHttpHeaders);
    } catch (err) {
      // A status or header Node will not write: as if the upstream had answered something that is not HTTP.
      this.done = true;
      this.dropSocket();
      call.onError(Object.assign(err as Error, { code: 'HPE_INVALID_RESPONSE' }), 'upstream');
      return;
    }
    this.relaying = true;
  }

  onBody(chunk: Buffer, last: boolean): void {
    if (this.done) return;
    const { res } = this;
    if (last && this.flush === null) {
      // The whole rest of the body: ended with it, head and body in one write to the client
      // (a write and then an end would be two).
      this.finalChunk = chunk;
      return;
    }
    const more = res.write(chunk);
    if (this.flush !== null) this.flush();
    if (more || this.connection === null || this.draining) return;
    // The client reads slower than the upstream sends: stop reading the upstream until 'drain'.
    // The rest of the read being parsed still comes here; one listener waits for all of it.
    const connection = this.connection;
    this.draining = true;
    connection.socket.pause();
    res.once('drain', () => {
      this.draining = false;
      if (!this.done && this.connection === connection) connection.socket.resume();
    });
  }

  onEnd(): void {
    if (this.done) return;
    this.done = true;
    const chunk = this.finalChunk;
    this.finalChunk = null;
    if (chunk !== null) this.res.end(chunk);
    else this.res.end();
    this.complete = true;
    if (!this.parsing) this.finishExchange(true);
  }

  /** After a complete response: the connection goes back to the pool, or is closed. */
  private finishExchange(clean: boolean): void {
    this.complete = false;
    if (this.connection === null) return;
    if (this.sent) this.releaseSocket(clean && this.parser.keepAlive);
    // Answered before the whole body was sent: the rest cannot be taken back, so the connection ends.
    else this.releaseSocket(false);
  }

  // UpstreamRequest

  destroy(err?: Error): this {
    if (this.done) return this;
    const reason = err ?? aborted();
    this.done = true;
    if (this.cancelWait !== null) {
      this.cancelWait();
      this.cancelWait = null;
    }
    this.dropSocket();
    // As node:http's `ClientRequest.destroy()`: reported on the next tick, so that the caller
    // finishes what it was doing (a 413 of its own) before it hears of it.
    process.nextTick(report, this, reason);
    return this;
  }

  /** Tells the caller how the exchange failed. */
  report(err: Error): void {
    const { res, call } = this;
    if (this.relaying) {
      if (!res.destroyed) call.onError(responseCutShort(), 'upstream');
      return;
    }
    call.onError(err, res.destroyed || this.req.socket?.destroyed === true ? 'client' : 'upstream');
  }

  /** Writing the request failed or its connection closed. */
  fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.dropSocket();
    this.report(err);
  }

  private releaseSocket(reuse: boolean): void {
    const connection = this.connection;
    if (connection === null) return;
    this.connection = null;
    this.detachPipe();
    const hint = this.parser.keepAliveTimeout;
    const idleMs = hint === null ? DEFAULT_IDLE_MS : Math.min(hint * 1000 - IDLE_MARGIN_MS, MAX_IDLE_MS);
    if (connection.socket.isPaused()) connection.socket.resume();
    this.pool.release(connection, reuse, idleMs);
  }

  private dropSocket(): void {
    const connection = this.connection;
    this.detachPipe();
    if (connection === null) return;
    this.connection = null;
    this.pool.discard(connection);
  }

  private detachPipe(): void {
    const pipe = this.pipe;
    if (pipe === null) return;
    this.pipe = null;
    pipe.detach();
  }
}

/**
 * Writes the request body to the connection, framed as its headers say: as is for a
 * declared length, in chunks of its own for a body of unknown length (the client's
 * chunked upload, decoded by Node, re-framed for this hop). It pauses the body while the
 * socket's buffer is full. The body is usually the client's request itself, read here
 * directly: nothing in between to copy or destroy.
 */
class BodyPipe {
  private readonly onData = (chunk: Buffer): void => this.data(chunk);
  private readonly onEnd = (): void => this.end();
  private readonly onError = (err: Error): void => this.exchange.clientError(err);
  private readonly onDrain = (): void => {
    this.waiting = false;
    this.body.resume();
  };
  /** Paused on a full socket buffer, until 'drain'. */
  private waiting = false;

  constructor(
    private readonly exchange: NetExchange,
    private readonly socket: Socket,
    private readonly body: Readable,
    private readonly req: IncomingMessage,
    private readonly chunked: boolean,
  ) {
    body.on('data', this.onData);
    body.once('end', this.onEnd);
    // The client's request stream breaking is the client's side, whichever stream feeds the body.
    req.on('error', this.onError);
    if (body !== req) body.on('error', this.onError);
  }

  private data(chunk: Buffer): void {
    const { socket } = this;
    if (socket.destroyed) return;
    let more: boolean;
    if (this.chunked) {
      if (chunk.length === 0) return;
      socket.cork();
      socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
      socket.write(chunk);
      more = socket.write('\r\n', 'latin1');
      process.nextTick(uncork, socket);
    } else more = socket.write(chunk);
    this.exchange.progress();
    if (!more && !this.waiting) {
      this.waiting = true;
      this.body.pause();
      socket.once('drain', this.onDrain);
    }
  }

  private end(): void {
    if (this.socket.destroyed) return;
    if (this.chunked) this.socket.write('0\r\n\r\n', 'latin1');
    this.stopListening();
    this.exchange.bodySent();
  }

  /**
   * The exchange is over before the body is: stop sending it. The rest of the client's
   * request is read and discarded, so that its connection can carry its next request once
   * the answer is out (Node drains only a request nobody began to read); a stream of the
   * gateway's own is destroyed.
   */
  detach(): void {
    this.stopListening();
    if (this.body !== this.req) this.body.destroy();
    if (!this.req.destroyed) this.req.resume();
  }

  private stopListening(): void {
    const { body, socket } = this;
    body.removeListener('data', this.onData);
    body.removeListener('end', this.onEnd);
    if (this.waiting) {
      this.waiting = false;
      socket.removeListener('drain', this.onDrain);
    }
  }
}

function uncork(socket: Socket): void {
  socket.uncork();
}

function report(exchange: NetExchange, err: Error): void {
  exchange.report(err);
}
