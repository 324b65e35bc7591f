import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex, Readable } from 'node:stream';
import type { FailureKind } from '../http/error-status';
import { withAddedHeaders } from '../http/added-headers';
import { writeError } from '../http/json-error';
import { requestTarget } from '../http/request-target';
import { BodyCounter, declaredTooLarge, type BodyCounterEvents } from './body-limit';
import { routeOf } from '../protocol/routes';
import { clientInfo, pathOf } from './client-info';
import { releaseClient, watchClient, type ClientBound } from './client-gone';
import type { ErrorSide, HttpCall, HttpUpstream, UpstreamRequest, UpstreamResponse } from './http-upstream';
import type { NetworkFailure } from '../net/failure';
import { BodyTooLargeError, classifyUpstreamError, failureKindOf, requestNotForwardable, UpstreamTimeoutError } from './failure';
import { federationRefused } from './federation-guard';
import { forwardRequestHeaders, relayResponseHeaders } from './headers';
import { BodyAlreadyReadNotice, bodyAlreadyRead, frameHeldBody, heldBody, heldBodyStream, mediaTypeOf, type HeldBody } from './parsed-body';
import type { ParsedBodyMode } from '../config/options';
import { requestIdOf } from './request-id';
import { keepTrustedForwarded } from './trusted-proxies';
import { answerServerOptions, checkRequest } from './request-checks';
import type { Rejection } from './observer';
import type { ProxyRules } from './rules';

/** What the HTTP forwarder needs: the shared rules, the upstream and the body cap. */
export interface ForwarderOptions extends ProxyRules {
  readonly upstream: HttpUpstream;
  /** `proxy.maxBodyBytes`. */
  readonly maxBodyBytes: number;
  /** `proxy.parsedBody`: what to do with a body a middleware already parsed. */
  readonly parsedBody: ParsedBodyMode;
}

/** The per-forwarder state every exchange shares. */
interface Shared extends ForwarderOptions {
  readonly bodyAlreadyRead: BodyAlreadyReadNotice;
}

/** The 413 tells the client the connection ends: the rest of its body will not be read. */
const CLOSE: OutgoingHttpHeaders = { connection: 'close' };

/** Nothing to send before the request is forwarded. */
const NO_HEADERS: OutgoingHttpHeaders = Object.freeze({});

/**
 * Forwards one HTTP request to the upstream: refusals the gateway owns first
 * (closed, federation guard, fail-fast, declared size), then a streamed, never retried
 * exchange. Every path ends in exactly one answer or a destroyed connection, and one
 * `requestFinished` report.
 */
export function createForwarder(options: ForwarderOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const shared: Shared = { ...options, bodyAlreadyRead: new BodyAlreadyReadNotice(options.logger) };
  return function forward(req, res) {
    new Exchange(shared, req, res).start();
  };
}

/**
 * One proxied request, from arrival to its `requestFinished` report. It is also the
 * upstream's `HttpCall` and the body counter's listener: the state of the request lives in
 * one object, and the upstream calls its methods instead of a set of per-request closures.
 */
class Exchange implements HttpCall, BodyCounterEvents, ClientBound {
  private readonly started = performance.now();
  private readonly method: string;
  /** The request target as the client sent it (a mount path included), forwarded unchanged but in origin form. */
  target: string;
  /** The path alone, as the guards and the route label read it (the origin form of an absolute-form target). */
  private path: string;
  /** Sent upstream as `X-Request-Id` and named in every log line about this request. */
  private readonly requestId: string;
  /** The peer is a trusted hop: its forwarded headers and request id are kept. */
  private readonly trusted: boolean;
  private rejected: Rejection | null = null;
  private failure: NetworkFailure | null = null;
  private upstreamLatencyMs: number | null = null;
  /** The gateway has written its own answer (or ended the connection on purpose). */
  private settled = false;
  private endedByGateway = false;
  private timer: NodeJS.Timeout | undefined = undefined;
  private upstreamReq: UpstreamRequest | undefined = undefined;
  private pendingAbort: Error | undefined = undefined;
  /** The one report has been made. */
  private reported = false;
  /** The client connection, watched for its end (see `client-gone.ts`). */
  private readonly socket: Duplex;
  private readonly onClose = (): void => this.finished();
  headers: OutgoingHttpHeaders = NO_HEADERS;
  body: Readable | null = null;

  constructor(
    private readonly options: Shared,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    this.method = req.method ?? 'GET';
    this.target = requestTarget(req);
    this.path = pathOf(this.target);
    this.trusted = options.trustedProxies.trusts(req);
    this.requestId = requestIdOf(req.headers, this.trusted);
    this.socket = req.socket;
  }

  start(): void {
    const { options, req, res } = this;
    // 'close' comes once; `on` spares the per-request wrapper `once` makes.
    res.on('close', this.onClose);
    watchClient(this.socket, this);
    if (options.closed()) return this.reject('closed', 'unavailable');
    const checked = checkRequest(req, this.target);
    if (checked.verdict === 'refuse') return this.reject(checked.refusal.reason, checked.refusal.kind, checked.refusal.headers);
    if (checked.verdict === 'serverOptions') return answerServerOptions(res);
    this.target = checked.target;
    this.path = checked.path;
    if (federationRefused(this.path, options.federationEnabled)) return this.reject('federationDisabled', 'federationDisabled');
    if (options.failFast && options.upstreamUnhealthy()) return this.reject('failFast', 'failFast');
    if (declaredTooLarge(req.headers, options.maxBodyBytes)) return this.reject('tooLarge', 'tooLarge', CLOSE);
    // A body parser of the host app got there first: forward what it left, or refuse, never a short body.
    const held = bodyAlreadyRead(req) ? heldBody(req, options.parsedBody) : null;
    if (held === undefined) return this.bodyLost();
    if (held !== null && held.bytes.length > options.maxBodyBytes) return this.reject('tooLarge', 'tooLarge');
    // A pipelined request waits for its turn: its response has no socket until the ones
    // before it are done. Forwarded only then, a client holds one upstream request per
    // connection however deep it pipelines, and one that stops reading holds just one.
    if (res.socket === null) res.once('socket', () => this.forward(held));
    else this.forward(held);
  }

  private forward(held: HeldBody | null): void {
    if (this.reported) return;
    const { options, req, res } = this;
    // "No response headers within timeoutMs", counted from the last byte of progress: a
    // slow upload is not a slow upstream. The typed error tells it apart from a reset.
    this.timer = setTimeout(timedOut, options.timeoutMs, this);
    this.body = held === null ? this.requestBody() : heldBodyStream(held);
    const headers = (this.headers = forwardRequestHeaders(req.headers, clientInfo(req)));
    if (this.trusted) keepTrustedForwarded(headers, req.headers);
    headers['x-request-id'] = this.requestId;
    if (held !== null) frameHeldBody(headers, held);
    options.upstream.forward(req, res, this);
  }

  /** The body was read before the gateway and is not at hand: 500, logged once with the fix. */
  private bodyLost(): void {
    const { method, path } = this;
    this.options.bodyAlreadyRead.tell({ method, route: routeOf(method, path), requestId: this.requestId, contentType: mediaTypeOf(this.req.headers['content-type']) });
    this.reject('bodyAlreadyRead', 'bodyAlreadyRead');
  }

  /**
   * What is sent upstream as the body. Counting costs a transform stream per request, so it
   * is only paid where the size is not already known: no body at all (neither
   * `Content-Length` nor `Transfer-Encoding`: RFC 9112 §6.3) is none to send; a declared
   * length has passed the cap above and Node's parser never delivers more than it, so it is
   * relayed uncounted; only a chunked body is counted.
   */
  private requestBody(): Readable | null {
    const { req } = this;
    const declared = req.headers['content-length'];
    if (declared !== undefined) {
      if (Number(declared) === 0) return null;
      // The request itself: the engine reads it and tells `onProgress` of each chunk.
      return req;
    }
    if (req.headers['transfer-encoding'] === undefined) return null;
    const counter = new BodyCounter(this.options.maxBodyBytes, this);
    req.pipe(counter);
    return counter;
  }

  /** The response is over (sent, failed or abandoned): one report, and the upstream request never outlives it. */
  private finished(): void {
    if (this.reported) return;
    this.reported = true;
    releaseClient(this.socket, this);
    const { res, options } = this;
    clearTimeout(this.timer);
    const clientAborted = !res.writableFinished && !this.endedByGateway;
    // A client that goes away aborts its upstream request at once.
    if (!res.writableFinished) this.upstreamReq?.destroy();
    const status = res.headersSent ? res.statusCode : 0;
    const durationMs = performance.now() - this.started;
    const { method, path, upstreamLatencyMs, failure, rejected, requestId } = this;
    options.observer.requestFinished({ method, path, status, upstreamLatencyMs, durationMs, failure, rejected, clientAborted });
    if (options.logger.isLevelEnabled('debug')) {
      options.logger.debug({ event: 'request', requestId, method, route: routeOf(method, path), status, durationMs: Math.round(durationMs), clientAborted }, 'proxied request');
    }
  }

  private answer(kind: FailureKind, extraHeaders?: OutgoingHttpHeaders): void {
    if (this.settled) return;
    this.settled = true;
    if (this.res.headersSent) this.endedByGateway = true;
    writeError(this.res, kind, extraHeaders, this.method === 'HEAD');
  }

  private reject(reason: Rejection, kind: FailureKind, extraHeaders?: OutgoingHttpHeaders): void {
    this.rejected = reason;
    this.answer(kind, extraHeaders);
  }

  /** No response headers (and no upload progress) for `proxy.timeoutMs`. */
  timedOut(): void {
    this.abortUpstream(new UpstreamTimeoutError(this.options.timeoutMs));
  }

  /** Destroys the upstream request with `err`, or as soon as it exists. */
  private abortUpstream(err: Error): void {
    if (this.upstreamReq) this.upstreamReq.destroy(err);
    else this.pendingAbort = err;
  }

  // ClientBound

  /** The client connection closed: a queued pipelined response may never see its own 'close'. */
  clientGone(): void {
    this.finished();
  }

  // BodyCounterEvents

  onProgress(): void {
    this.timer?.refresh();
  }

  onExceeded(): void {
    clearTimeout(this.timer);
    this.req.unpipe(this.body as BodyCounter);
    this.abortUpstream(new BodyTooLargeError());
    this.reject('tooLarge', 'tooLarge', CLOSE);
  }

  // HttpCall

  onRequest(upstreamReq: UpstreamRequest): void {
    this.upstreamReq = upstreamReq;
    if (this.pendingAbort) upstreamReq.destroy(this.pendingAbort);
  }

  onResponse(upstreamRes: UpstreamResponse): OutgoingHttpHeaders {
    clearTimeout(this.timer);
    this.upstreamLatencyMs = performance.now() - this.started;
    const headers = relayResponseHeaders(upstreamRes.headers);
    // A 204 never carries Content-Length (RFC 9110 §8.6); relayed, Node 20.18 would wait for that body and abort the exchange.
    if (upstreamRes.statusCode === 204) delete headers['content-length'];
    headers.connection = this.res.shouldKeepAlive ? 'keep-alive' : 'close';
    // What the gateway adds to every answer of this request (the rate limiter's headers).
    return withAddedHeaders(this.res, headers);
  }

  onError(err: Error, side: ErrorSide): void {
    clearTimeout(this.timer);
    const { res } = this;
    if (side === 'client') {
      // The client's own request stream broke (aborted upload, bad chunking): nobody to answer.
      res.destroy();
      return;
    }
    if (this.settled || res.destroyed) return;
    if (res.headersSent) {
      // The upstream broke off mid-body: the status is out, so the connection ends.
      this.failure = 'reset';
      this.settled = true;
      this.endedByGateway = true;
      res.destroy();
      return;
    }
    if (requestNotForwardable(err)) {
      // The host app's doing, not the upstream's: no failure counted against it.
      this.options.logger.warn(
        { event: 'header_not_forwardable', requestId: this.requestId, method: this.method, route: routeOf(this.method, this.path), code: (err as { code?: unknown }).code },
        'a request header set before the gateway cannot be sent upstream',
      );
      return this.reject('headerNotForwardable', 'headerNotForwardable');
    }
    const failure = classifyUpstreamError(err);
    this.failure = failure;
    this.options.logger.warn(
      { event: 'upstream_error', requestId: this.requestId, method: this.method, route: routeOf(this.method, this.path), failure, code: (err as { code?: unknown }).code },
      'upstream request failed',
    );
    this.answer(failureKindOf(failure));
  }
}

function timedOut(exchange: Exchange): void {
  exchange.timedOut();
}
