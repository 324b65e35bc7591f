import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FailureKind } from '../http/error-status';
import { pathOf } from './client-info';
import { connectionListed } from './headers';
import type { Rejection } from './observer';
import { hasControlCharacter } from '../http/path-readings';

/** How the gateway answers a request it will not forward. */
export interface Refusal {
  readonly kind: FailureKind;
  readonly reason: Rejection;
  /** Extra headers on the answer. */
  readonly headers?: OutgoingHttpHeaders;
}

/** What the checks decided about one request. */
export type Checked =
  /** Forward it, to this origin-form target (path and query); `path` is the path alone. */
  | { readonly verdict: 'forward'; readonly target: string; readonly path: string }
  | { readonly verdict: 'refuse'; readonly refusal: Refusal }
  /** `OPTIONS *`: a question about the server, answered by the gateway (see `answerServerOptions`). */
  | { readonly verdict: 'serverOptions' };

/**
 * The methods the gateway forwards, as its `Allow` header lists them: every method but
 * CONNECT and TRACE is forwarded, these are the ones the protocol's routes use.
 */
export const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** A malformed request ends its connection: what else the client sent on it is not trusted either. */
const CLOSE: OutgoingHttpHeaders = Object.freeze({ connection: 'close' });

function refuse(kind: FailureKind, reason: Rejection, headers: OutgoingHttpHeaders = CLOSE): Checked {
  return Object.freeze({ verdict: 'refuse', refusal: Object.freeze({ kind, reason, headers }) });
}

const BAD_TARGET = refuse('badTarget', 'badRequest');
const BAD_HOST = refuse('badHost', 'badRequest');
const BAD_HEADER_NAME = refuse('badRequest', 'badRequest');
const NOT_IMPLEMENTED = refuse('notImplemented', 'notImplemented');
const METHOD_REFUSED = refuse('methodNotAllowed', 'methodNotAllowed', Object.freeze({ allow: ALLOW }));
const SERVER_OPTIONS: Checked = Object.freeze({ verdict: 'serverOptions' });

/**
 * `host[:port]` (RFC 9110 §7.2, RFC 3986 §3.2.2) restricted to what names a real server:
 * a DNS name or IPv4 address, or an IPv6 literal in brackets; no userinfo, spaces, commas
 * or other punctuation an upstream might split on.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~-]+)(?::[0-9]{1,5})?$/;

/** A field name (RFC 9110 §5.6.2 token). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A `Connection` value that may list `Host`. */
const MAY_NAME_HOST = /host/i;

/** `http://authority/rest` or `https://…` (RFC 9112 §3.2.2, absolute-form). */
const ABSOLUTE = /^https?:\/\/([^/?#]*)(.*)$/is;

/**
 * The checks a request passes before anything of it is forwarded, HTTP and WebSocket
 * alike: what the upstream receives must be what the client sent, read the same way on
 * both sides. In order:
 * - CONNECT (no tunnels to anywhere) and TRACE (the upstream would echo the request's
 *   headers, cookies included, to whoever sent it): 405;
 * - a `Transfer-Encoding` other than `chunked` alone: 501 (RFC 9112 §6.1: a coding the
 *   gateway does not apply is not silently dropped);
 * - a header name that is not a token: 400, the answer newer parsers give themselves
 *   (Node 20.18's llhttp 8 passes `Bad Header: x` on, and the upstream client would then
 *   fail it as if the upstream were down);
 * - exactly one valid `Host`, not named in `Connection` (RFC 9112 §3.2): else 400;
 * - the request target in origin form; absolute-form (`http://host/x`) is taken in origin
 *   form when its authority is the `Host` (RFC 9112 §3.2.2); `*` only with OPTIONS; else 400;
 * - no control character in the path, raw or percent-encoded: else 400.
 * Pure.
 *
 * @param url the request target to judge and forward (default `req.url`)
 */
export function checkRequest(req: IncomingMessage, url: string = req.url ?? '/'): Checked {
  const method = req.method ?? 'GET';
  if (method === 'CONNECT' || method === 'TRACE') return METHOD_REFUSED;

  const te = req.headers['transfer-encoding'];
  if (te !== undefined && te.trim().toLowerCase() !== 'chunked') return NOT_IMPLEMENTED;

  if (!namesAreTokens(req.rawHeaders)) return BAD_HEADER_NAME;
  const host = singleHost(req);
  if (host === undefined) return BAD_HOST;

  let target: string;
  if (url.charCodeAt(0) === 0x2f /* / */) target = url;
  else if (url === '*') return method === 'OPTIONS' ? SERVER_OPTIONS : BAD_TARGET;
  else {
    const absolute = ABSOLUTE.exec(url);
    if (absolute === null) return BAD_TARGET;
    const [, authority = '', rest = ''] = absolute;
    if (authority.toLowerCase() !== host.toLowerCase()) return BAD_TARGET;
    target = rest.charCodeAt(0) === 0x2f ? rest : `/${rest}`;
  }

  const path = pathOf(target);
  if (hasControlCharacter(path)) return BAD_TARGET;
  return { verdict: 'forward', target, path };
}

/** Whether every header name in `raw` (name, value, name, value, …) is a token. */
function namesAreTokens(raw: readonly string[]): boolean {
  for (let i = 0; i < raw.length; i += 2) if (!TOKEN.test(raw[i] as string)) return false;
  return true;
}

/** The one valid `Host` value, or undefined when there is none, several, a malformed one, or `Connection` names it. */
function singleHost(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let host: string | undefined;
  for (let i = 0; i < raw.length - 1; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 4 || name.toLowerCase() !== 'host') continue;
    if (host !== undefined) return undefined;
    host = raw[i + 1] as string;
  }
  if (host === undefined || !HOST.test(host)) return undefined;
  // Host is the one header every hop needs (RFC 9112 §3.2); a request that asks for it to be dropped is not forwarded.
  // Parsed only when it could name Host: the usual `keep-alive` or `Upgrade` costs a regex test.
  const connection = req.headers.connection;
  if (connection !== undefined && MAY_NAME_HOST.test(connection) && connectionListed(connection).has('host')) return undefined;
  return host;
}

/**
 * Answers `OPTIONS *` (RFC 9110 §9.3.7: a question about the server, not a resource):
 * 204 with the methods the gateway forwards. It is not forwarded: the upstream is reached
 * through a pool that only speaks origin-form targets, and the answer would be the same.
 */
export function answerServerOptions(res: ServerResponse): void {
  res.writeHead(204, { allow: ALLOW, 'cache-control': 'no-store' });
  res.end();
}
