import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

/** Where the headers ride on the response until it is written. */
const ADDED = Symbol('cryptid.addedResponseHeaders');

type WithAdded = ServerResponse & { [ADDED]?: Readonly<Record<string, string>> };

/**
 * Headers the gateway adds to the answer of this request, whoever writes it: the relayed
 * upstream response or an error of the gateway's own. Kept on the response instead of
 * `res.setHeader`, which would send Node's `writeHead` down its slow path (every relayed
 * header set one by one).
 */
export function addResponseHeaders(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  (res as WithAdded)[ADDED] = headers;
}

/** True when this response has headers added to it. */
export function hasAddedHeaders(res: ServerResponse): boolean {
  return (res as WithAdded)[ADDED] !== undefined;
}

/**
 * Puts the added headers into `headers` (changed in place, and returned): pass an object of
 * this answer's own. A field the upstream sent too becomes a list, the gateway's members
 * first (RateLimit fields are lists: both policies stay visible).
 */
export function withAddedHeaders(res: ServerResponse, headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const added = (res as WithAdded)[ADDED];
  if (added === undefined) return headers;
  for (const name in added) {
    const ours = added[name] as string;
    const theirs = headers[name];
    headers[name] = theirs === undefined ? ours : `${ours}, ${Array.isArray(theirs) ? theirs.join(', ') : String(theirs)}`;
  }
  return headers;
}
