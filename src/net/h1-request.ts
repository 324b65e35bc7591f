import type { OutgoingHttpHeaders } from 'node:http';
import { isFieldValue, isToken } from '../protocol/http-field-bytes';

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
    if (!isToken(name)) return null;
    if (Array.isArray(value)) {
      for (const v of value) {
        if (!isFieldValue(v)) return null;
        out += `${name}: ${v}\r\n`;
      }
    } else {
      const v = typeof value === 'string' ? value : String(value);
      if (!isFieldValue(v)) return null;
      out += `${name}: ${v}\r\n`;
    }
  }
  return out;
}

/**
 * The method and target can be written as a request line as they are: a token method, and
 * a target of visible bytes (0x21–0xff, the rule of Node's and undici's clients).
 */
export function requestLineValid(method: string, target: string): boolean {
  if (!isToken(method) || target.length === 0) return false;
  for (let i = 0; i < target.length; i++) {
    const code = target.charCodeAt(i);
    if (code < 0x21 || code > 0xff) return false;
  }
  return true;
}

/** The error for a header `headerLines` refused (classified as `other`: the gateway's side, not the upstream's). */
export function invalidHeader(): Error {
  return Object.assign(new Error('a request header cannot be sent upstream as it is'), { code: 'ERR_INVALID_CHAR' });
}
