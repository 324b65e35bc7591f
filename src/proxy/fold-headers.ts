import type { IncomingHttpHeaders } from 'node:http';

/** Header names node:http keeps only the first of (`matchKnownFields` in `_http_incoming`). */
const FIRST_ONLY: ReadonlySet<string> = new Set([
  'content-type',
  'content-length',
  'user-agent',
  'referer',
  'host',
  'authorization',
  'proxy-authorization',
  'if-modified-since',
  'if-unmodified-since',
  'from',
  'location',
  'max-forwards',
  'retry-after',
  'etag',
  'last-modified',
  'server',
  'age',
  'expires',
]);

/**
 * Raw response headers (name, value, name, value, … as undici hands them over) folded as
 * node:http folds them into `IncomingMessage.headers`: lower-case names; `set-cookie` an
 * array; `cookie` joined with "; "; the headers above keep their first value; any other
 * repeated header joined with ", ". Pure.
 */
export function foldRawHeaders(raw: readonly (Buffer | string)[]): IncomingHttpHeaders {
  const headers: IncomingHttpHeaders = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1').toLowerCase();
    const value = raw[i + 1]!.toString('latin1');
    const prior = headers[name];
    if (prior === undefined) {
      headers[name] = name === 'set-cookie' ? [value] : value;
    } else if (name === 'set-cookie') {
      (prior as string[]).push(value);
    } else if (!FIRST_ONLY.has(name)) {
      headers[name] = `${prior as string}${name === 'cookie' ? '; ' : ', '}${value}`;
    }
  }
  return headers;
}
