import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import { rawHeader } from '../http/raw-header';
import type { RateLimitKey } from '../config/options';

/**
 * Where a request comes from, for `key: ip`. The socket's peer by default; a gateway behind
 * trusted proxies passes the address those proxies vouch for instead.
 */
export type AddressOf = (req: IncomingMessage) => string | undefined;

/** The peer of the connection the request came on. */
export const socketAddress: AddressOf = (req) => req.socket?.remoteAddress;

/**
 * The key an address is counted under: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4
 * form), IPv6 by its /64, since one host usually holds a whole /64 and could otherwise step
 * through it to get a fresh limit per address. Pure.
 */
export function addressKey(address: string | undefined): string {
  if (address === undefined || address === '') return 'unknown';
  // No colon, no IPv6: the usual IPv4 peer skips isIPv6's pattern match (a third of the limiter's work per request).
  if (address.indexOf(':') === -1) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  return `${expandIPv6(address).slice(0, 4).join(':')}::/64`;
}

/** The eight groups of an IPv6 address, without leading zeros (`::` expanded, a zone id dropped). Pure. */
export function expandIPv6(address: string): string[] {
  const bare = address.split('%')[0] as string;
  const [head = '', tail] = bare.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  // A trailing dotted quad stands for two groups.
  const last = right.length > 0 ? right : left;
  const quad = last.at(-1);
  if (quad !== undefined && quad.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = quad.split('.').map(Number);
    last.splice(-1, 1, ((a << 8) | b).toString(16), ((c << 8) | d).toString(16));
  }
  const missing = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array<string>(missing).fill('0'), ...right].map((g) => (g.replace(/^0+/, '') || '0').toLowerCase());
}

/** Hex digits of a token's SHA-256 kept: the token never stays in memory, a store or a log. */
const DIGEST_HEX = 32;

/** The truncated SHA-256 a token or header value is held as. Pure. */
export function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, DIGEST_HEX);
}

/** The token of `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined. Pure. */
export function bearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const m = /^\s*bearer[ \t]+(\S+)\s*$/i.exec(authorization);
  return m === null ? undefined : m[1];
}

/** The `access_token` query parameter of a request target (RFC 6750 §2.3, how browsers authenticate WebSockets), or undefined. Pure. */
export function accessTokenParam(url: string | undefined): string | undefined {
  const q = url?.indexOf('?') ?? -1;
  if (url === undefined || q === -1) return undefined;
  const token = new URLSearchParams(url.slice(q + 1)).get('access_token');
  return token === null || token === '' ? undefined : token;
}

/**
 * The client key a request is counted under for a rule's `key`, namespaced by kind. Tokens
 * and header values are hashed here, so only digests are held from this point on. A request
 * without the material its kind needs is counted by its address.
 *
 * @param upgrade a WebSocket upgrade may carry its bearer token as `access_token` in the query
 */
export function clientKey(kind: RateLimitKey, req: IncomingMessage, upgrade: boolean, addressOf: AddressOf): string {
  if (kind === 'bearer') {
    const token = bearerToken(rawHeader(req.rawHeaders, 'authorization')) ?? (upgrade ? accessTokenParam(req.url) : undefined);
    if (token !== undefined) return `bearer:${digest(token)}`;
  } else if (kind !== 'ip') {
    const name = kind.slice(7);
    const value = rawHeader(req.rawHeaders, name);
    if (value !== undefined && value.trim() !== '') return `header:${name}:${digest(value)}`;
  }
  return `ip:${addressKey(addressOf(req))}`;
}
