import { GatewayError } from '../errors';

/**
 * Why a discovery, health check or pin check failed. The first eight are the protocol's
 * discovery failures; the last three name failures the published page leaves implicit but a caller must
 * tell apart (a certificate that does not verify is not a network outage, and a
 * corrupt known-servers file is not the server's fault).
 */
export type DiscoveryErrorCode =
  /** 404 or another refusal: the server does not publish the endpoint. */
  | 'ENDPOINT_NOT_FOUND'
  /** 503, 429 or another 5xx: the server is there but not serving now. Transient. */
  | 'SERVER_UNAVAILABLE'
  /** Not JSON, too large, or a field missing or malformed. */
  | 'INVALID_DOCUMENT'
  /** The document's `server_name` is not the domain that was asked. */
  | 'SERVER_NAME_MISMATCH'
  /** The server's protocol major version differs from the client's. */
  | 'INCOMPATIBLE_VERSION'
  /** Presented certificate ≠ published fingerprint, or ≠ the fingerprint pinned on first use. */
  | 'FINGERPRINT_MISMATCH'
  /** Refused, reset, DNS failure, TLS handshake failure. Transient. */
  | 'NETWORK_ERROR'
  /** No complete answer within the timeout. Transient. */
  | 'TIMEOUT'
  /** The TLS certificate does not verify for the domain (untrusted, expired, wrong name). */
  | 'CERTIFICATE_INVALID'
  /** A redirect to plain HTTP, to another host, or too many redirects. */
  | 'REDIRECT_REJECTED'
  /** The known-servers file is corrupt, unreadable, or stayed locked too long. */
  | 'TOFU_STORE_ERROR';

/** Codes a later retry may well cure: a stale cached value may stand in for a refresh that failed so. */
const TRANSIENT: ReadonlySet<DiscoveryErrorCode> = new Set(['SERVER_UNAVAILABLE', 'NETWORK_ERROR', 'TIMEOUT']);

/** Context carried by a `DiscoveryError`; every field optional. */
export interface DiscoveryErrorContext {
  /** The domain asked about. */
  domain?: string;
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** Seconds the server asked to wait (`Retry-After`). */
  retryAfterSeconds?: number;
  /** The fingerprint expected: the published one, or the pinned one. */
  expectedFingerprint?: string;
  /** The fingerprint of the certificate actually presented. */
  presentedFingerprint?: string;
  /** Where `expectedFingerprint` came from. */
  fingerprintSource?: 'document' | 'pin';
  /** One line per validation problem (`field: what is wrong`). */
  problems?: readonly string[];
  /** The underlying error. */
  cause?: unknown;
}

/**
 * The one error type of the client side. Messages name the domain and what
 * went wrong, never a server's raw body, and quote server-supplied strings sanitised.
 */
export class DiscoveryError extends GatewayError {
  override readonly name = 'DiscoveryError';
  declare readonly code: DiscoveryErrorCode;
  readonly domain: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly expectedFingerprint: string | undefined;
  readonly presentedFingerprint: string | undefined;
  readonly fingerprintSource: 'document' | 'pin' | undefined;
  readonly problems: readonly string[];

  constructor(code: DiscoveryErrorCode, message: string, context: DiscoveryErrorContext = {}) {
    super(code, message, { status: context.status, cause: context.cause });
    this.domain = context.domain;
    this.retryAfterSeconds = context.retryAfterSeconds;
    this.expectedFingerprint = context.expectedFingerprint;
    this.presentedFingerprint = context.presentedFingerprint;
    this.fingerprintSource = context.fingerprintSource;
    this.problems = context.problems ?? [];
  }

  /** True when retrying later may succeed (unavailable, network, timeout). */
  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }
}

/** True if `error` is a `DiscoveryError`, optionally with the given code. */
export function isDiscoveryError(error: unknown, code?: DiscoveryErrorCode): error is DiscoveryError {
  return error instanceof DiscoveryError && (code === undefined || error.code === code);
}
