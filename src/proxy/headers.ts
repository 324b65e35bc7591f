import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * Hop-by-hop headers: they describe one connection, not the message, so a proxy never
 * forwards them (RFC 9110 §7.6.1; `Keep-Alive` and `Proxy-Connection` are the legacy
 * ones, `Trailer` also closes http-proxy's Trailer DoS, node-http-proxy#1647).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Where the request came from, as the gateway's own socket saw it. */
export interface ClientInfo {
  /** The peer address of the client connection (undefined once the socket is gone). */
  readonly remoteAddress: string | undefined;
  /** True when the client connection is TLS. */
  readonly encrypted: boolean;
}

/** Every header name listed in `Connection` (lower case): they are hop-by-hop too (RFC 9110 §7.6.1). */
export function connectionListed(value: string | string[] | undefined): Set<string> {
  const names = new Set<string>();
  if (value === undefined) return names;
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) names.add(name);
    }
  }
  return names;
}

/**
 * The names `Connection` lists beyond the hop-by-hop set, or null when there are none.
 * The usual values (`keep-alive`, `close`, `upgrade`) name only hop-by-hop headers, so the
 * common request allocates nothing here.
 */
function extraListed(value: string | string[] | undefined): Set<string> | null {
  if (value === undefined) return null;
  if (typeof value === 'string' && value.length <= 10) {
    const token = value.toLowerCase();
    if (token === 'keep-alive' || token === 'close' || token === 'upgrade') return null;
  }
  const listed = connectionListed(value);
  for (const name of HOP_BY_HOP) listed.delete(name);
  return listed.size === 0 ? null : listed;
}

/**
 * Copies `headers` into `out` without hop-by-hop headers and without those named in
 * `Connection`: one pass, no intermediate arrays. `skip` names one more header to drop.
 */
function copyEndToEnd<T extends IncomingHttpHeaders | OutgoingHttpHeaders>(headers: IncomingHttpHeaders, out: T, skip?: string): T {
  // First, before anything else reads them: the names the sender marked as connection-only.
  const listed = extraListed(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name === skip || (listed !== null && listed.has(name))) continue;
    (out as IncomingHttpHeaders)[name] = value;
  }
  return out;
}

/** A copy of `headers` without hop-by-hop headers and without those named in `Connection`. Pure. */
export function withoutHopByHop(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return copyEndToEnd(headers, {});
}

function appendForwardedFor(existing: string | string[] | undefined, address: string | undefined): string | undefined {
  const prior = Array.isArray(existing) ? existing.join(', ') : existing;
  if (address === undefined) return prior;
  return prior ? `${prior}, ${address}` : address;
}

/**
 * The headers sent to the upstream for a plain HTTP request. Pure.
 * - hop-by-hop and `Connection`-listed headers removed;
 * - `Expect` removed: the gateway's HTTP server has already answered `100 Continue` itself
 *   (Node does so before the request reaches any handler), which meets the expectation on
 *   this hop (RFC 9110 §10.1.1);
 * - `Transfer-Encoding` kept as the framing of the body the gateway re-sends (a chunked
 *   body stays chunked, whatever the method), never turned into a `Content-Length`;
 * - `X-Forwarded-For` appended, `X-Forwarded-Proto` and `X-Forwarded-Host` set;
 * - `Host`, `Authorization` and every end-to-end header untouched.
 */
export function forwardRequestHeaders(incoming: IncomingHttpHeaders, client: ClientInfo): OutgoingHttpHeaders {
  const out = copyEndToEnd<OutgoingHttpHeaders>(incoming, {}, 'expect');
  const te = incoming['transfer-encoding'];
  if (te !== undefined && incoming['content-length'] === undefined) out['transfer-encoding'] = te;
  setForwarded(out, incoming, client);
  return out;
}

/**
 * The headers sent to the upstream for a WebSocket handshake: as for HTTP, but the
 * upgrade itself is re-stated for this hop; `Authorization`, the `Sec-WebSocket-*`
 * headers (protocol, key, version, extensions) and the query stay untouched. Pure.
 */
export function forwardUpgradeHeaders(incoming: IncomingHttpHeaders, client: ClientInfo): OutgoingHttpHeaders {
  const out = copyEndToEnd<OutgoingHttpHeaders>(incoming, {});
  out.connection = 'Upgrade';
  out.upgrade = 'websocket';
  setForwarded(out, incoming, client);
  return out;
}

function setForwarded(out: OutgoingHttpHeaders, incoming: IncomingHttpHeaders, client: ClientInfo): void {
  // From `out`, not `incoming`: a client's X-Forwarded-For named in Connection is already gone.
  const xff = appendForwardedFor(out['x-forwarded-for'] as string | undefined, client.remoteAddress);
  if (xff !== undefined) out['x-forwarded-for'] = xff;
  out['x-forwarded-proto'] = client.encrypted ? 'https' : 'http';
  if (incoming.host !== undefined) out['x-forwarded-host'] = incoming.host;
  else delete out['x-forwarded-host'];
}

/**
 * The upstream's response headers as relayed to the client: hop-by-hop and
 * `Connection`-listed headers removed (the gateway's server frames its own connection;
 * a relayed `Trailer` without trailers would even make Node throw). Pure.
 */
export function relayResponseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return copyEndToEnd<OutgoingHttpHeaders>(headers, {});
}
