import { publishedDocumentSchema, type DiscoveryDocument } from '../protocol/document';
import { DISCOVERY_PATH } from '../protocol/paths';
import { errorForStatus, headerValue, parseJsonBody } from './answer-status';
import { maxAgeSeconds } from './cache-control';
import { isCompatible } from './compat';
import { normalizeDomain, type ConnectionOptions } from './connection';
import { DiscoveryError } from './errors';
import { fetchPath } from './fetch-path';
import type { HttpsAnswer } from './https-get';
import { checkPin, type PinResult } from './pinning';
import { printableValue } from './printable';
import type { TofuStore } from './tofu-store';
import { safeParse } from '../validation/parse';

/** Options of `discover()`. */
export interface DiscoverOptions extends ConnectionOptions {
  /** Pins the certificate on first use and checks it afterwards. @default no pinning */
  tofuStore?: TofuStore;
  /**
   * Accept a certificate that differs from the pinned one: `true` for whatever is
   * presented now, or the exact `sha256:…` fingerprint checked out of band (safer).
   * @default false
   */
  acceptNewFingerprint?: boolean | string;
  /** The client's protocol version; when given, another major fails with `INCOMPATIBLE_VERSION`. */
  protocolVersion?: string;
  /** An earlier result for the same domain: revalidated with `If-None-Match` (a 304 keeps its document). */
  previous?: DiscoveryResult;
  /** Aborts the exchange; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Clock for `fetchedAt` (Unix ms). @default Date.now */
  now?: () => number;
}

/** HTTP caching facts of a discovery answer. */
export interface CacheInfo {
  /** When the answer arrived (Unix ms, from `now()`). */
  readonly fetchedAt: number;
  /** `Cache-Control: max-age` (0 for `no-store`/`no-cache`), or undefined when the server gave none. */
  readonly maxAgeSeconds: number | undefined;
  /** The strong validator, for revalidation. */
  readonly etag: string | undefined;
  /** True when the server answered 304 to a revalidation and the previous document stands. */
  readonly revalidated: boolean;
}

/** What `discover()` learnt about a server. */
export interface DiscoveryResult {
  /** The domain, normalised (lower case, no trailing dot). */
  readonly domain: string;
  /** The validated document; its `server_name` is `domain`. */
  readonly document: DiscoveryDocument;
  /** Fingerprint of the certificate presented on the connection that carried the document. */
  readonly fingerprint: string;
  /** What trust on first use made of it. */
  readonly pin: PinResult;
  readonly cache: CacheInfo;
}

/**
 * Discovers a Cryptid server (server-discovery page, "Server Capabilities"):
 * GET `https://{domain}/.well-known/cryptid` over verified TLS, then in order
 * - the document passes the same validation the gateway applies (`INVALID_DOCUMENT`);
 * - its `server_name` is `domain` (`SERVER_NAME_MISMATCH`);
 * - its `certificate_fingerprint` is the certificate presented on that connection (`FINGERPRINT_MISMATCH`);
 * - with a `tofuStore`, that certificate is the one pinned on first use (`FINGERPRINT_MISMATCH`);
 * - with a `protocolVersion`, the majors agree (`INCOMPATIBLE_VERSION`).
 * Every failure is a `DiscoveryError`.
 */
export async function discover(domain: string, options: DiscoverOptions = {}): Promise<DiscoveryResult> {
  const name = normalizeDomain(domain);
  const now = options.now ?? Date.now;
  const previous = options.previous?.domain === name ? options.previous : undefined;
  const answer = await fetchPath(name, options, {
    path: DISCOVERY_PATH,
    wantBody: (status) => status === 200,
    headers: previous?.cache.etag !== undefined ? { 'if-none-match': previous.cache.etag } : undefined,
    signal: options.signal,
  });
  const fetchedAt = now();

  let document: DiscoveryDocument;
  if (answer.status === 200) document = validateDocument(name, answer);
  else if (answer.status === 304 && previous !== undefined) document = previous.document;
  else throw errorForStatus(name, answer, 'discovery document', fetchedAt);

  if (document.certificate_fingerprint !== answer.fingerprint) {
    throw new DiscoveryError(
      'FINGERPRINT_MISMATCH',
      `${name}: the certificate presented (${answer.fingerprint}) is not the one the document publishes ` +
        `(${document.certificate_fingerprint}) — a man-in-the-middle, or a certificate rotated without its document`,
      { domain: name, expectedFingerprint: document.certificate_fingerprint, presentedFingerprint: answer.fingerprint, fingerprintSource: 'document' },
    );
  }
  const pin = await checkPin(options.tofuStore, name, answer.fingerprint, options.acceptNewFingerprint);
  if (options.protocolVersion !== undefined && !isCompatible(document.protocol_version, options.protocolVersion)) {
    throw new DiscoveryError(
      'INCOMPATIBLE_VERSION',
      `${name}: protocol ${printableValue(document.protocol_version)} is not compatible with this client's ${printableValue(options.protocolVersion)} (major versions differ)`,
      { domain: name },
    );
  }
  const etag = headerValue(answer.headers.etag) ?? previous?.cache.etag;
  return {
    domain: name,
    document,
    fingerprint: answer.fingerprint,
    pin,
    cache: {
      fetchedAt,
      maxAgeSeconds: maxAgeSeconds(headerValue(answer.headers['cache-control'])),
      etag,
      revalidated: answer.status === 304,
    },
  };
}

/** Parses and validates the body with the gateway's own schema, then checks the name. */
function validateDocument(domain: string, answer: HttpsAnswer): DiscoveryDocument {
  const json = parseJsonBody(domain, answer, 'discovery document');
  const parsed = safeParse(publishedDocumentSchema, json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new DiscoveryError('INVALID_DOCUMENT', `${domain}: invalid discovery document (${problems.join('; ')})`, {
      domain,
      status: answer.status,
      problems,
    });
  }
  const document = parsed.data as DiscoveryDocument;
  if (document.server_name !== domain) {
    throw new DiscoveryError('SERVER_NAME_MISMATCH', `${domain}: the document names another server (${printableValue(document.server_name)})`, {
      domain,
      status: answer.status,
    });
  }
  return document;
}
