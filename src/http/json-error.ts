import { STATUS_CODES, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { FAILURES, type Failure, type FailureKind } from './error-status';

/** A failure's response, serialised once: the hot path only writes bytes. */
interface PreparedError {
  readonly status: number;
  readonly body: Buffer;
  readonly headers: OutgoingHttpHeaders;
}

function prepare(failure: Failure): PreparedError {
  const body = Buffer.from(
    JSON.stringify({
      error: failure.error,
      message: failure.message,
      ...(failure.code !== undefined && { code: failure.code }),
      ...(failure.retryAfter !== undefined && { retry_after: failure.retryAfter }),
    }),
  );
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': body.length,
    'cache-control': 'no-store',
  };
  if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
  return { status: failure.status, body, headers };
}

const PREPARED = Object.fromEntries(
  Object.entries(FAILURES).map(([kind, failure]) => [kind, prepare(failure)]),
) as Record<FailureKind, PreparedError>;

/** The serialised body of a failure, as `writeError` sends it. */
export function errorBody(kind: FailureKind): Buffer {
  return PREPARED[kind].body;
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
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const prepared = PREPARED[kind];
  res.writeHead(prepared.status, extraHeaders ? { ...prepared.headers, ...extraHeaders } : prepared.headers);
  res.end(headOnly ? undefined : prepared.body);
}

/**
 * The same error, written as a raw HTTP/1.1 response on a socket that was handed over for
 * an upgrade (no `ServerResponse` exists there), then the socket is ended. Used when a
 * WebSocket handshake cannot be tunnelled: the client gets an answer, never a hang.
 */
export function writeSocketError(socket: Duplex, kind: FailureKind, extraHeaders?: OutgoingHttpHeaders): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const prepared = PREPARED[kind];
  const lines = [`HTTP/1.1 ${prepared.status} ${STATUS_CODES[prepared.status] ?? ''}`];
  const headers = extraHeaders ? { ...prepared.headers, ...extraHeaders, connection: 'close' } : { ...prepared.headers, connection: 'close' };
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) lines.push(`${name}: ${String(value)}`);
  lines.push('', '');
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n'), 'latin1'), prepared.body]));
}
