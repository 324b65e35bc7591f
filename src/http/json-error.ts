import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
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
