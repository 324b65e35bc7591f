import type { OutgoingHttpHeaders } from 'node:http';

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What node:http's own `validateHeaderValue` refuses: a byte outside tab, space to `~` and obs-text. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * `name: value` lines for every header (an array is one line per value), or null when a
 * name or value could not be sent as it is: proxied headers pass through the host app's
 * middleware, and a value with a line break would add a header, or a request, of its own.
 */
export function headerLines(headers: OutgoingHttpHeaders | Readonly<Record<string, string>>): string | null {
  let out = '';
  for (const name in headers) {
    const value = (headers as OutgoingHttpHeaders)[name];
    if (value === undefined) continue;
    if (!TOKEN.test(name)) return null;
    if (Array.isArray(value)) {
      for (const v of value) {
        if (INVALID_VALUE.test(v)) return null;
        out += `${name}: ${v}\r\n`;
      }
    } else {
      const v = typeof value === 'string' ? value : String(value);
      if (INVALID_VALUE.test(v)) return null;
      out += `${name}: ${v}\r\n`;
    }
  }
  return out;
}

/** What a request line may carry: a token method, and a target of visible bytes (the rule of Node's and undici's clients). */
const TARGET = /^[\x21-\xff]+$/;

/** The method and target can be written as a request line as they are. */
export function requestLineValid(method: string, target: string): boolean {
  return TOKEN.test(method) && TARGET.test(target);
}

/** The error for a header `headerLines` refused (classified as `other`: the gateway's side, not the upstream's). */
export function invalidHeader(): Error {
  return Object.assign(new Error('a request header cannot be sent upstream as it is'), { code: 'ERR_INVALID_CHAR' });
}
