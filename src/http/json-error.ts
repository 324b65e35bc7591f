import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { hasAddedHeaders, withAddedHeaders } from './added-headers';
import { FAILURES, type Failure, type FailureKind } from './error-status';

/** A failure's response, serialised once: the hot path only writes bytes. */
interface PreparedError {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: OutgoingHttpHeaders;
  /** The body without `retry_after` and its closing brace, for answers that carry their own `retry_after`. */
  readonly open: string;
}

function prepare(failure: Failure): PreparedError {
  const fixed = JSON.stringify({
    error: failure.error,
    message: failure.message,
    ...(failure.code !== undefined && { code: failure.code }),
  });
  const open = fixed.slice(0, -1);
  const body = Buffer.from(failure.retryAfter === undefined ? fixed : `${open},"retry_after":${failure.retryAfter}}`);
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
  };
  if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
  return { status: failure.status, body, headers, open };
}

/**
 * The answer with a `retry_after` of its own (a rate limit's seconds to wait), in the body and
 * in `Retry-After`. Only a whole number of seconds the gateway computed goes in, never request data.
 */
function withRetryAfter(prepared: PreparedError, seconds: number): PreparedError {
  const n = Number.isFinite(seconds) && seconds > 0 ? Math.ceil(seconds) : 0;
  const body = Buffer.from(`${prepared.open},"retry_after":${n}}`);
  return { ...prepared, body, headers: { ...prepared.headers, 'content-length': body.length, 'retry-after': String(n) } };
}

const PREPARED = Object.fromEntries(Object.entries(FAILURES).map(([kind, failure]) => [kind, prepare(failure)])) as Record<FailureKind, PreparedError>;

/** The serialised body of a failure, as `writeError` sends it (with `retryAfter`, as it sends it then). */
export function errorBody(kind: FailureKind, retryAfter?: number): Buffer {
  return retryAfter === undefined ? PREPARED[kind].body : withRetryAfter(PREPARED[kind], retryAfter).body;
}

/**
 * The one writer of error responses: the protocol's `{error, message, code, retry_after}`
 * shape, never request data, a stack or an upstream address. A response whose headers
 * are already out cannot carry an error any more, so its connection is ended instead.
 */
export function writeError(
  res: ServerResponse,
  kind: FailureKind,
  extraHeaders?: OutgoingHttpHeaders,
  headOnly = false,
  /** Seconds to wait, for an answer whose `retry_after` is its own (rate limits); rounded up. */
  retryAfter?: number,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const prepared = retryAfter === undefined ? PREPARED[kind] : withRetryAfter(PREPARED[kind], retryAfter);
  // The prepared headers are shared by every answer of this kind: added ones go into a copy.
  const headers = extraHeaders ? { ...prepared.headers, ...extraHeaders } : hasAddedHeaders(res) ? { ...prepared.headers } : prepared.headers;
  res.writeHead(prepared.status, withAddedHeaders(res, headers));
  res.end(headOnly ? undefined : prepared.body);
}

/**
 * The same error, written as a raw HTTP/1.1 response on a socket that was handed over for
 * an upgrade (no `ServerResponse` exists there), then the socket is ended. Used when a
 * WebSocket handshake cannot be tunnelled: the client gets an answer, never a hang.
 */
export function writeSocketError(socket: Duplex, kind: FailureKind, extraHeaders?: OutgoingHttpHeaders, retryAfter?: number): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const prepared = retryAfter === undefined ? PREPARED[kind] : withRetryAfter(PREPARED[kind], retryAfter);
  const lines = [`HTTP/1.1 ${prepared.status} ${STATUS_CODES[prepared.status] ?? ''}`];
  const headers = extraHeaders ? { ...prepared.headers, ...extraHeaders, connection: 'close' } : { ...prepared.headers, connection: 'close' };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) lines.push(`${name}: ${String(value)}`);
  lines.push('', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), prepared.body]));
}
