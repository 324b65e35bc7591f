import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** A request id a trusted hop may hand on: 1–200 visible ASCII characters (no spaces, nothing a log line could be broken with). */
const VALID_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * The `X-Request-Id` of a proxied request: a trusted hop's own, when it sent a usable one,
 * so that its logs, the gateway's and the upstream's tell of the same request; otherwise a
 * new UUID (crypto.randomUUID, from Node's cached entropy: about 0.1 µs). A client's own id
 * is not taken from an untrusted peer: ids are there to be believed.
 */
export function requestIdOf(incoming: IncomingHttpHeaders, trusted: boolean): string {
  if (trusted) {
    const given = incoming['x-request-id'];
    if (typeof given === 'string' && VALID_ID.test(given)) return given;
  }
  return randomUUID();
}
