import { ServerResponse, type IncomingMessage, type OutgoingHttpHeader, type OutgoingHttpHeaders } from 'node:http';

/** The header `serve` puts on every answer of its public listener (RFC 6797). */
export const HSTS_NAME = 'strict-transport-security';
/** One year; no `includeSubDomains`: the gateway cannot speak for its domain's other hosts. */
export const HSTS_VALUE = 'max-age=31536000';

type Headers = OutgoingHttpHeaders | OutgoingHttpHeader[];

/**
 * The public listener's response: `Strict-Transport-Security` goes on every answer at the
 * moment its head is written, unless the answer carries a policy of its own (a proxied
 * upstream's is relayed unchanged). Added here rather than with `res.setHeader()` on each
 * request: a header set that way sends every `writeHead()` down Node's slow path, which
 * sets each of the answer's headers one by one again.
 */
export class HstsResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  override writeHead(statusCode: number, reason?: string | Headers, headers?: Headers): this {
    if (typeof reason === 'string') return super.writeHead(statusCode, reason, withHsts(this, headers));
    return super.writeHead(statusCode, withHsts(this, reason));
  }
}

/** `headers` with the policy added when neither they nor the headers set on `res` have one. */
function withHsts(res: ServerResponse, headers: Headers | undefined): Headers | undefined {
  // Prepared answers (discovery) carry it already: the common case costs one lookup.
  if (headers !== undefined && !Array.isArray(headers) && headers[HSTS_NAME] !== undefined) return headers;
  if (res.hasHeader(HSTS_NAME)) return headers;
  if (headers === undefined) {
    // `res.end()` without `writeHead()`: the head is built from the headers set on `res`.
    res.setHeader(HSTS_NAME, HSTS_VALUE);
    return headers;
  }
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) return hasField(headers, 1) ? headers : [...headers, [HSTS_NAME, HSTS_VALUE]];
    return hasField(headers, 2) ? headers : [...headers, HSTS_NAME, HSTS_VALUE];
  }
  // The gateway's prepared answers are shared between requests: never changed in place.
  for (const name in headers) if (name.length === HSTS_NAME.length && name.toLowerCase() === HSTS_NAME) return headers;
  return { ...headers, [HSTS_NAME]: HSTS_VALUE };
}

/** Whether a list of headers names the policy: `[name, value]` pairs (`step` 1) or names and values in turn (`step` 2). */
function hasField(headers: OutgoingHttpHeader[], step: 1 | 2): boolean {
  for (let i = 0; i < headers.length; i += step) {
    const entry = headers[i];
    const name = Array.isArray(entry) ? entry[0] : entry;
    if (typeof name === 'string' && name.toLowerCase() === HSTS_NAME) return true;
  }
  return false;
}
