import type { ClientRequest, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { FailureKind } from '../http/error-status';
import { writeError } from '../http/json-error';
import type { Logger } from '../logger';
import { BodyCounter, declaredTooLarge } from './body-limit';
import { clientInfo, pathOf } from './client-info';
import type { ProxyEngine } from './engine';
import { classifyUpstreamError, failureKindOf, UpstreamTimeoutError, type UpstreamFailure } from './failure';
import { federationRefused } from './federation-guard';
import { forwardRequestHeaders, relayResponseHeaders } from './headers';
import type { ProxyObserver, Rejection } from './observer';

/** What the HTTP forwarder needs; built once by the gateway. */
export interface ForwarderOptions {
  readonly engine: ProxyEngine;
  readonly observer: ProxyObserver;
  readonly logger: Logger;
  /** `proxy.timeoutMs`: no response headers (and no upload progress) for this long → 504. */
  readonly timeoutMs: number;
  /** `proxy.maxBodyBytes`. */
  readonly maxBodyBytes: number;
  /** `proxy.failFast`. */
  readonly failFast: boolean;
  /** `discovery.document.federation_enabled`. */
  readonly federationEnabled: boolean;
  /** The fail-fast seam: true while the upstream is judged `unhealthy`. */
  readonly upstreamUnhealthy: () => boolean;
  /** True once the gateway is closed: requests get 503 without touching the upstream. */
  readonly closed: () => boolean;
}

/** The 413 tells the client the connection ends: the rest of its body will not be read. */
const CLOSE: OutgoingHttpHeaders = { connection: 'close' };

/** The upstream request is aborted with this when the body passes the cap mid-stream. */
class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
  readonly code = 'BODY_TOO_LARGE';
}

/**
 * Forwards one HTTP request to the upstream (SPEC §5): refusals the gateway owns first
 * (closed, federation guard, fail-fast, declared size), then a streamed, never retried
 * exchange. Every path ends in exactly one answer or a destroyed connection, and one
 * `requestFinished` report.
 */
export function createForwarder(options: ForwarderOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { engine, observer, logger, timeoutMs, maxBodyBytes } = options;

  return function forward(req, res) {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const path = pathOf(req.url);
    const headOnly = method === 'HEAD';
    let rejected: Rejection | null = null;
    let failure: UpstreamFailure | null = null;
    let upstreamLatencyMs: number | null = null;
    // The gateway has written its own answer (or ended the connection on purpose).
    let settled = false;
    let endedByGateway = false;

    res.once('close', () => {
      clearTimeout(timer);
      const clientAborted = !res.writableFinished && !endedByGateway;
      const status = res.headersSent ? res.statusCode : 0;
      const durationMs = performance.now() - started;
      observer.requestFinished({ method, path, status, upstreamLatencyMs, durationMs, failure, rejected, clientAborted });
      logger.debug({ event: 'request', method, status, durationMs: Math.round(durationMs), clientAborted }, 'proxied request');
    });

    function answer(kind: FailureKind, extraHeaders?: OutgoingHttpHeaders): void {
      if (settled) return;
      settled = true;
      if (res.headersSent) endedByGateway = true;
      writeError(res, kind, extraHeaders, headOnly);
    }

    function reject(reason: Rejection, kind: FailureKind, extraHeaders?: OutgoingHttpHeaders): void {
      rejected = reason;
      answer(kind, extraHeaders);
    }

    // Declared before the early returns so the 'close' listener can always clear it.
    let timer: NodeJS.Timeout | undefined = undefined;
    if (options.closed()) return reject('closed', 'unavailable');
    if (federationRefused(path, options.federationEnabled)) return reject('federationDisabled', 'federationDisabled');
    if (options.failFast && options.upstreamUnhealthy()) return reject('failFast', 'failFast');
    if (declaredTooLarge(req.headers, maxBodyBytes)) return reject('tooLarge', 'tooLarge', CLOSE);

    let upstreamReq: ClientRequest | undefined;
    let pendingAbort: Error | undefined;
    const abortUpstream = (err: Error): void => {
      if (upstreamReq) upstreamReq.destroy(err);
      else pendingAbort = err;
    };
    // "No response headers within timeoutMs", counted from the last byte of progress: a
    // slow upload is not a slow upstream. The typed error tells it apart from a reset.
    timer = setTimeout(() => abortUpstream(new UpstreamTimeoutError(timeoutMs)), timeoutMs);

    const body = new BodyCounter(maxBodyBytes, {
      onProgress: () => timer?.refresh(),
      onExceeded: () => {
        clearTimeout(timer);
        req.unpipe(body);
        abortUpstream(new BodyTooLargeError('request body exceeds proxy.maxBodyBytes'));
        reject('tooLarge', 'tooLarge', CLOSE);
      },
    });
    req.pipe(body);

    engine.web(req, res, {
      headers: forwardRequestHeaders(req.headers, clientInfo(req)),
      body,
      onRequest(r) {
        upstreamReq = r;
        if (pendingAbort) r.destroy(pendingAbort);
      },
      onResponse(upstreamRes) {
        clearTimeout(timer);
        upstreamLatencyMs = performance.now() - started;
        const headers = relayResponseHeaders(upstreamRes.headers);
        headers.connection = res.shouldKeepAlive ? 'keep-alive' : 'close';
        upstreamRes.headers = headers;
        upstreamRes.once('close', () => {
          // The upstream broke off mid-body: the status is out, so the connection ends (SPEC §5).
          if (upstreamRes.complete || res.destroyed || settled) return;
          failure = 'reset';
          endedByGateway = true;
          res.destroy();
        });
      },
      onError(err, side) {
        clearTimeout(timer);
        if (side === 'client') {
          // The client's own request stream broke (aborted upload, bad chunking): nobody to answer.
          res.destroy();
          return;
        }
        if (settled || res.destroyed) return;
        failure = classifyUpstreamError(err);
        logger.warn({ event: 'upstream_error', method, failure, code: (err as { code?: unknown }).code }, 'upstream request failed');
        answer(failureKindOf(failure));
      },
    });
  };
}
