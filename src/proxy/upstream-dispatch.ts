import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { errors, type Pool } from '../net/undici-client';
import { flusherOf } from './flush';
import { foldRawHeaders } from './fold-headers';
import type { ErrorSide, HttpCall, UpstreamRequest, UpstreamResponse } from './http-upstream';
import { RelayedBody } from './relayed-body';
import { responseCutShort } from './failure';

/** Where the per-request state rides on the client request, for the shared listeners below. */
const kDispatch = Symbol('cryptid.upstreamDispatch');

type Tagged<T> = T & { [kDispatch]?: UpstreamDispatch };

/** The upstream's response as the caller reads it. */
class UpstreamHead implements UpstreamResponse {
  constructor(
    readonly statusCode: number,
    readonly statusMessage: string,
    readonly headers: IncomingHttpHeaders,
  ) {}
}

/**
 * One request in flight: undici's dispatch handler, and the upstream request the caller
 * destroys (when its client leaves, on its timeout, past the body limit).
 */
export class UpstreamDispatch implements Dispatcher.DispatchHandler, UpstreamRequest {
  private abort: ((err?: Error) => void) | null = null;
  /** Destroyed before undici put the request on a socket: undici gets it when it does. */
  private pendingAbort: Error | null = null;
  /** The caller destroyed the request with this. */
  private destroyedBy: Error | null = null;
  /** The caller has been told how the exchange ended (or the response was relayed in full). */
  private done = false;
  /** The response headers are out: an error from now on means a body cut short. */
  private relaying = false;

  constructor(
    private readonly req: Tagged<IncomingMessage>,
    private readonly res: ServerResponse,
    private readonly call: HttpCall,
  ) {
    this.flush = flusherOf(res);
  }

  /** `servername`: SNI and the certificate check on the upstream's own name; undici would take the client's Host. */
  dispatch(pool: Pool, servername?: string): void {
    const { req, call } = this;
    let body: Readable | null = call.body;
    let headers = call.headers;
    if (headers['transfer-encoding'] !== undefined) {
      // undici frames a body of unknown length as chunked itself and refuses the header.
      headers = { ...headers };
      delete headers['transfer-encoding'];
    }
    call.onRequest(this);
    if (this.done) return;
    if (body !== null) {
      // The client's request stream broke (aborted upload, bad chunking).
      req[kDispatch] = this;
      req.on('error', clientError);
      // undici destroys the body stream it was given once it is done with it, and an
      // IncomingMessage it destroys loses its socket: it gets a stream of its own.
      if (body === req) body = new RelayedBody(req, call);
      // Errors undici destroys the stream with are reported through the handler.
      body.on('error', ignore);
    }
    const options: Dispatcher.DispatchOptions = {
      method: (req.method ?? 'GET') as Dispatcher.HttpMethod,
      // The request target as received (in origin form), never re-parsed: `/a/../b` and `%2e%2e` reach the upstream as sent.
      path: call.target,
      headers: headers as Record<string, string | string[]>,
      body,
      ...(servername !== undefined && { servername }),
    };
    pool.dispatch(options, this);
  }

  // UpstreamRequest

  destroy(err?: Error): this {
    if (this.done) return this;
    const reason = err ?? new errors.RequestAbortedError();
    // As with node:http's `ClientRequest.destroy()`, the error is reported on the next tick:
    // the caller finishes what it was doing (a 413 of its own) before it hears of it.
    this.destroyedBy = reason;
    if (this.abort !== null) this.abort(reason);
    else {
      // Still queued for a connection: undici gets it once it hands out a socket.
      this.pendingAbort = reason;
      this.fail(reason);
    }
    return this;
  }

  // Dispatcher.DispatchHandler

  onConnect(abort: (err?: Error) => void): void {
    if (this.pendingAbort !== null) {
      // Destroyed while it waited for a connection (its client left, its clock ran out).
      // undici's abort() would also destroy the socket it is about to write on; a handler
      // that throws here has its request dropped before any byte is written and the
      // socket goes on to the next request in the queue.
      throw this.pendingAbort;
    }
    this.abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    // 1xx informational responses are not relayed (node:http's 'response' skips them too).
    if (statusCode < 200) return true;
    const { req, res, call } = this;
    const headers = call.onResponse(new UpstreamHead(statusCode, statusText, foldRawHeaders(rawHeaders)));
    if (res.headersSent || res.destroyed) {
      // The gateway already answered (or the client left): the upstream's answer has nowhere to go.
      this.done = true;
      this.abort?.();
      return false;
    }
    try {
      if (req.httpVersionMajor === 1 && statusText) res.writeHead(statusCode, statusText, headers);
      else res.writeHead(statusCode, headers as OutgoingHttpHeaders);
    } catch (err) {
      // A status or header Node will not write: as if the upstream had answered something that is not HTTP.
      this.done = true;
      this.abort?.();
      call.onError(Object.assign(err as Error, { code: 'HPE_INVALID_RESPONSE' }), 'upstream');
      return false;
    }
    this.relaying = true;
    this.resume = resume;
    return true;
  }

  private resume: (() => void) | null = null;
  /** A compression middleware's flush, or null (see `flush.ts`). */
  private readonly flush: (() => void) | null;

  onData(chunk: Buffer): boolean {
    const { res } = this;
    const more = res.write(chunk);
    if (this.flush !== null) this.flush();
    if (more) return true;
    // The client reads slower than the upstream sends: the upstream parser waits for 'drain'.
    res.once('drain', () => {
      if (!this.done) this.resume?.();
    });
    return false;
  }

  onComplete(): void {
    this.done = true;
    this.res.end();
  }

  onError(err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    if (this.done) return;
    this.done = true;
    if (this.destroyedBy !== null) process.nextTick(report, this, this.destroyedBy);
    else this.report(err);
  }

  /** Tells the caller how the exchange failed. */
  report(err: Error): void {
    const { res, call } = this;
    if (this.relaying) {
      // The upstream broke off mid-body; the caller ends the client connection.
      if (!res.destroyed) call.onError(responseCutShort(), 'upstream');
      return;
    }
    call.onError(err, this.clientGone() ? 'client' : 'upstream');
  }

  /** A request aborted because its client left reports as the client's. */
  private clientGone(): boolean {
    return this.res.destroyed || this.req.socket?.destroyed === true;
  }

  /** The client's request stream broke. */
  clientError(err: Error): void {
    this.call.onError(err, 'client' satisfies ErrorSide);
  }
}

function clientError(this: Tagged<IncomingMessage>, err: Error): void {
  this[kDispatch]?.clientError(err);
}

function report(pass: UpstreamDispatch, err: Error): void {
  pass.report(err);
}

function ignore(): void {}
