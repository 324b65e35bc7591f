/**
 * The one classifier of network failures, for everything that talks to another server:
 * the proxy (to answer 502 or 504 and label metrics), the health probe (to say why a
 * probe failed) and the discovery client (to tell a bad certificate from an outage).
 * It reads only an error's `code`: Node's messages name addresses, which must not leak.
 */

/** What went wrong talking to another server; bounded, so it can label metrics. */
export type NetworkFailure =
  /** Nothing listens at the address (`ECONNREFUSED`). */
  | 'refused'
  /** The connection broke before or while the peer answered (`ECONNRESET`, `EPIPE`, undici's "other side closed"). */
  | 'reset'
  /** No response headers within the caller's own deadline (`UPSTREAM_TIMEOUT`, never a socket's timer). */
  | 'timeout'
  /** The host name did not resolve (`ENOTFOUND`, `EAI_AGAIN`). */
  | 'dns'
  /** No route to the host, or connecting took too long (`EHOSTUNREACH`, `ETIMEDOUT`, undici's connect timeout). */
  | 'unreachable'
  /** The TLS handshake failed: a certificate that does not verify, or a protocol mismatch. */
  | 'tls'
  /** The peer answered something that is not valid HTTP (`HPE_*` parser errors, a body shorter than declared). */
  | 'protocol'
  /** Anything else. */
  | 'other';

// A Record over the union: a kind added above fails to compile here until it is listed.
const KINDS: Record<NetworkFailure, true> = { refused: true, reset: true, timeout: true, dns: true, unreachable: true, tls: true, protocol: true, other: true };

/** Every failure kind, for metrics that export one series per kind. */
export const NETWORK_FAILURES = Object.keys(KINDS) as readonly NetworkFailure[];

/** A classified error. */
export interface ClassifiedFailure {
  readonly kind: NetworkFailure;
  /** The error's code when it is a plain identifier (safe to quote); undefined otherwise. */
  readonly code: string | undefined;
  /** A TLS failure caused by the certificate (untrusted, expired, wrong name), not by the network. */
  readonly certificate: boolean;
}

/** One row per known code: its kind and what it means, completing "the upstream …". */
const CODES: Readonly<Record<string, readonly [NetworkFailure, string]>> = {
  ECONNREFUSED: ['refused', 'refused the connection'],
  ECONNRESET: ['reset', 'reset the connection'],
  EPIPE: ['reset', 'reset the connection'],
  ECONNABORTED: ['reset', 'reset the connection'],
  ERR_STREAM_PREMATURE_CLOSE: ['reset', 'reset the connection'],
  // undici: "other side closed", a socket that broke under the request.
  UND_ERR_SOCKET: ['reset', 'reset the connection'],
  UPSTREAM_TIMEOUT: ['timeout', 'did not answer in time'],
  ENOTFOUND: ['dns', 'host name could not be resolved'],
  EAI_AGAIN: ['dns', 'host name could not be resolved'],
  EAI_FAIL: ['dns', 'host name could not be resolved'],
  EAI_NONAME: ['dns', 'host name could not be resolved'],
  EHOSTUNREACH: ['unreachable', 'host is unreachable'],
  EHOSTDOWN: ['unreachable', 'host is unreachable'],
  ENETUNREACH: ['unreachable', 'host is unreachable'],
  ENETDOWN: ['unreachable', 'host is unreachable'],
  EADDRNOTAVAIL: ['unreachable', 'host is unreachable'],
  // The OS, or undici's connect timer, gave up connecting: the host is not answering, which is not a slow response.
  ETIMEDOUT: ['unreachable', 'did not accept the connection in time'],
  UND_ERR_CONNECT_TIMEOUT: ['unreachable', 'did not accept the connection in time'],
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: ['protocol', 'sent a body that does not match its length'],
};

// OpenSSL's verification results and Node's own name check: the certificate is at fault.
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|^UNABLE_TO_|^HOSTNAME_MISMATCH$|^INVALID_CA$/;
const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_)/;
const SAFE_CODE = /^[A-Z0-9_]{1,40}$/;

/** Classifies an error raised while talking to another server. Pure. */
export function classifyNetworkError(err: unknown): ClassifiedFailure {
  const raw = typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
  const code = typeof raw === 'string' && SAFE_CODE.test(raw) ? raw : undefined;
  if (code === undefined) return { kind: 'other', code, certificate: false };
  const row = CODES[code];
  if (row) return { kind: row[0], code, certificate: false };
  if (CERTIFICATE_CODE.test(code)) return { kind: 'tls', code, certificate: true };
  if (TLS_CODE.test(code)) return { kind: 'tls', code, certificate: false };
  if (code.startsWith('HPE_')) return { kind: 'protocol', code, certificate: false };
  return { kind: 'other', code, certificate: false };
}

/**
 * Why a connection to `subject` failed, in words fit for a log line or a health reason:
 * from the code only, never from the message. Undefined for a failure of kind `other`
 * (the caller knows best what it was doing).
 */
export function describeNetworkFailure(failure: ClassifiedFailure, subject: string): string | undefined {
  const row = failure.code === undefined ? undefined : CODES[failure.code];
  if (row) return `${subject} ${row[1]}`;
  if (failure.kind === 'tls') return `TLS handshake with the ${subject} failed (${failure.code})`;
  if (failure.kind === 'protocol') return `${subject} answered something that is not HTTP (${failure.code})`;
  return undefined;
}
