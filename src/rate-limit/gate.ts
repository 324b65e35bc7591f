import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { FAILURES } from '../http/error-status';
import { addResponseHeaders } from '../http/added-headers';
import { writeError, writeSocketError } from '../http/json-error';
import type { Logger } from '../logger';
import { rateLimitHeaders } from './headers';
import type { RateLimiter, Verdict } from './limiter';
import { NOOP_RATE_LIMIT_OBSERVER, type RateLimitObserver } from './observer';

/** Hands an admitted request on (to the proxy). */
export type Forward = (req: IncomingMessage, res: ServerResponse) => void;
/** Hands an admitted upgrade on (to the WebSocket proxy). */
export type Tunnel = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

/**
 * Puts the limiter in front of the proxy: requests on a limited route are checked first,
 * answered 429 `RATE_LIMIT_EXCEEDED` (not forwarded) when over a limit, and otherwise
 * forwarded with `RateLimit-Policy` and `RateLimit` headers on the answer. WebSocket upgrades on
 * a limited route count too; a refused one gets its 429 on the socket. Requests on no limited
 * route go on at once.
 */
export class RateLimitGate {
  constructor(
    private readonly limiter: RateLimiter,
    private readonly logger: Logger,
    private readonly observer: RateLimitObserver = NOOP_RATE_LIMIT_OBSERVER,
  ) {}

  /**
   * An HTTP request: checked, then answered here or handed to `forward`.
   * @param url the request target the proxy forwards (where a framework rewrote `req.url`, the original one)
   */
  http(req: IncomingMessage, res: ServerResponse, forward: Forward, url: string | undefined = req.url): void {
    const path = pathOf(url);
    const rules = this.limiter.match(req.method ?? 'GET', path);
    if (rules.length === 0) return forward(req, res);
    const started = performance.now();
    const verdict = this.limiter.check(req, rules, false);
    if (!(verdict instanceof Promise)) return this.answer(req, res, path, verdict, started, forward);
    verdict.then(
      (v) => this.answer(req, res, path, v, started, forward),
      (err: unknown) => this.failed(res, err),
    );
  }

  /** A WebSocket upgrade: checked, then refused on the socket or handed to `tunnel` (`url` as for `http`). */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, tunnel: Tunnel, url: string | undefined = req.url): void {
    const rules = this.limiter.match(req.method ?? 'GET', pathOf(url));
    if (rules.length === 0) return tunnel(req, socket, head);
    // A socket error while the check runs must not crash the process; the tunnel adds its own handling.
    socket.on('error', ignore);
    const verdict = this.limiter.check(req, rules, true);
    if (!(verdict instanceof Promise)) return this.answerUpgrade(req, socket, head, verdict, tunnel);
    // Nothing may be read (and lost) before the tunnel takes the socket over.
    const flowing = socket.readableFlowing === true;
    if (flowing) socket.pause();
    verdict.then(
      (v) => {
        if (flowing && !socket.destroyed) socket.resume();
        this.answerUpgrade(req, socket, head, v, tunnel);
      },
      (err: unknown) => {
        this.logger.error({ event: 'rate_limit_failed', err: (err as Error).message }, 'rate-limit check failed');
        writeSocketError(socket, 'internal');
      },
    );
  }

  private answer(req: IncomingMessage, res: ServerResponse, path: string, verdict: Verdict, started: number, forward: Forward): void {
    if (res.destroyed) {
      // The client left while it was checked: nothing to answer, nothing to forward.
      this.observer.answered(req.method, path, 0, (performance.now() - started) / 1000);
      return;
    }
    if (verdict.kind === 'allowed') {
      // On the answer, whether the upstream's or an error of the gateway's own.
      addResponseHeaders(res, rateLimitHeaders(verdict.decisions));
      return forward(req, res);
    }
    const head = req.method === 'HEAD';
    if (verdict.kind === 'unavailable') {
      writeError(res, 'unavailable', undefined, head);
      this.observer.answered(req.method, path, FAILURES.unavailable.status, (performance.now() - started) / 1000);
      return;
    }
    for (const d of verdict.decisions) if (!d.decision.allowed) this.observer.limited(d.rule.name);
    const headers: OutgoingHttpHeaders = rateLimitHeaders(verdict.decisions);
    // A large or unknown body is not read just to be thrown away; a small one is (Node reads
    // it off after the answer), which keeps the connection: a client over its limit that
    // had to reconnect for every retry would cost a TLS handshake each time.
    if (largeBody(req)) headers.connection = 'close';
    writeError(res, 'rateLimited', headers, head, verdict.retryAfter);
    this.observer.answered(req.method, path, FAILURES.rateLimited.status, (performance.now() - started) / 1000);
  }

  private answerUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, verdict: Verdict, tunnel: Tunnel): void {
    if (socket.destroyed) return;
    if (verdict.kind === 'allowed') return tunnel(req, socket, head);
    if (verdict.kind === 'unavailable') return writeSocketError(socket, 'unavailable');
    for (const d of verdict.decisions) if (!d.decision.allowed) this.observer.limited(d.rule.name);
    writeSocketError(socket, 'rateLimited', rateLimitHeaders(verdict.decisions), verdict.retryAfter);
  }

  private failed(res: ServerResponse, err: unknown): void {
    this.logger.error({ event: 'rate_limit_failed', err: (err as Error).message }, 'rate-limit check failed');
    writeError(res, 'internal');
  }
}

/** The request path without the query. */
function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** Bodies up to this size are read off and dropped after a refusal. */
const DRAINED_BODY_BYTES = 65536;

/** True when the request declares a body (RFC 9112 §6.3) larger than is worth reading off, or one of unknown length. */
function largeBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true;
  const length = req.headers['content-length'];
  return length !== undefined && !(Number(length) <= DRAINED_BODY_BYTES);
}

function ignore(): void {}
