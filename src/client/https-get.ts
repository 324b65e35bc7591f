import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { classifyNetworkError } from '../net/failure';
import { fingerprintOfDer } from '../protocol/fingerprint';
import { PACKAGE_VERSION } from '../version';
import { DiscoveryError } from './errors';
import { printable } from './printable';

/** Trusted CA certificates in PEM; given, they replace the system trust store (as in `node:tls`). */
export type CaOption = string | Buffer | ReadonlyArray<string | Buffer>;

/** One HTTPS GET against a Cryptid domain, as `discover` and `health` need it. */
export interface HttpsGetOptions {
  /** The name the certificate must be valid for; also SNI and `Host`. */
  readonly domain: string;
  /** Where to open the connection (scheme https, host, port); only its origin is used. */
  readonly connectTo: URL;
  /** Path and query on `domain`, e.g. `/.well-known/cryptid`. */
  readonly path: string;
  readonly ca?: CaOption | undefined;
  /** Deadline for the whole exchange, redirects and body included. */
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  readonly maxRedirects: number;
  /** Statuses whose body is wanted; others end the connection after the headers. */
  readonly wantBody: (status: number) => boolean;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** The final (non-redirect) answer. */
export interface HttpsAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Empty unless `wantBody(status)`. */
  readonly body: Buffer;
  /** Fingerprint of the certificate presented on the connection that carried this answer. */
  readonly fingerprint: string;
  /** The path finally answered (after redirects). */
  readonly path: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = `cryptid-gateway/${PACKAGE_VERSION} (discovery client)`;

type Hop = HttpsAnswer | { readonly redirect: string | undefined; readonly status: number };

/**
 * GET over HTTPS with the client's safety rails: certificate verified against
 * `domain` (never disabled), a fresh connection each time so the presented certificate
 * is the one measured, one deadline, a body cap, and redirects followed only to HTTPS
 * on the same host (each hop verified the same way). Failures are `DiscoveryError`s;
 * an abort through `signal` rejects with the signal's reason.
 */
export async function httpsGet(options: HttpsGetOptions): Promise<HttpsAnswer> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const outer = options.signal;
  const forwardAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forwardAbort();
  else outer?.addEventListener('abort', forwardAbort, { once: true });
  try {
    let path = options.path;
    for (let hops = 0; ; hops++) {
      const hop = await requestOnce(options, path, controller.signal);
      if (!('redirect' in hop)) return hop;
      if (hops >= options.maxRedirects) {
        throw new DiscoveryError('REDIRECT_REJECTED', `${options.domain}: more than ${options.maxRedirects} redirects`, {
          domain: options.domain,
          status: hop.status,
        });
      }
      path = redirectPath(options.domain, path, hop);
    }
  } catch (error) {
    if (timedOut) {
      throw new DiscoveryError('TIMEOUT', `${options.domain} did not answer within ${options.timeoutMs} ms`, {
        domain: options.domain,
        cause: error,
      });
    }
    if (outer?.aborted) throw outer.reason;
    throw asDiscoveryError(error, options.domain);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', forwardAbort);
  }
}

/**
 * Where a redirect may go: resolved against `https://{domain}{path}`, it must stay HTTPS
 * on the very same host and port. Another host could only serve a document whose name and
 * fingerprint fail the later checks anyway, and plain HTTP would hand the answer to anyone
 * on the path (the page: "no HTTP fallback").
 */
function redirectPath(domain: string, from: string, hop: { redirect: string | undefined; status: number }): string {
  if (hop.redirect === undefined) {
    throw new DiscoveryError('REDIRECT_REJECTED', `${domain}: redirect (${hop.status}) without a Location`, { domain, status: hop.status });
  }
  let target: URL;
  try {
    target = new URL(hop.redirect, `https://${domain}${from}`);
  } catch (error) {
    throw new DiscoveryError('REDIRECT_REJECTED', `${domain}: redirect to an invalid URL`, { domain, status: hop.status, cause: error });
  }
  if (target.protocol !== 'https:') {
    throw new DiscoveryError('REDIRECT_REJECTED', `${domain}: refused a redirect to ${printable(target.protocol)} (HTTPS only)`, {
      domain,
      status: hop.status,
    });
  }
  if (target.host !== domain) {
    throw new DiscoveryError('REDIRECT_REJECTED', `${domain}: refused a redirect to another host (${printable(target.host)})`, {
      domain,
      status: hop.status,
    });
  }
  return `${target.pathname}${target.search}`;
}

function requestOnce(options: HttpsGetOptions, path: string, signal: AbortSignal): Promise<Hop> {
  const { domain, connectTo } = options;
  return new Promise<Hop>((resolve, reject) => {
    const req = request({
      // URL keeps IPv6 literals bracketed; the socket API wants them bare.
      host: connectTo.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: connectTo.port === '' ? 443 : Number(connectTo.port),
      path,
      method: 'GET',
      servername: domain,
      headers: { host: domain, accept: 'application/json', 'user-agent': USER_AGENT, ...options.headers },
      ...(options.ca !== undefined && { ca: options.ca as string | Buffer | Array<string | Buffer> }),
      // A fresh connection, no session resumption: the certificate measured is the one presented now.
      agent: false,
      rejectUnauthorized: true,
      signal,
    });
    // `on`, not `once`: a destroyed request may emit more than one error, and an unheard one would crash the process.
    req.on('error', reject);
    req.once('response', (res) => {
      const status = res.statusCode ?? 0;
      const der = (res.socket as TLSSocket).getPeerCertificate().raw as Buffer | undefined;
      if (der === undefined) {
        req.destroy();
        reject(new DiscoveryError('NETWORK_ERROR', `${domain}: no certificate on the connection`, { domain }));
        return;
      }
      const fingerprint = fingerprintOfDer(der);
      if (REDIRECT_STATUSES.has(status)) {
        req.destroy();
        resolve({ redirect: res.headers.location, status });
        return;
      }
      if (!options.wantBody(status)) {
        req.destroy();
        resolve({ status, headers: res.headers, body: Buffer.alloc(0), fingerprint, path });
        return;
      }
      const tooLarge = (): void => {
        req.destroy();
        reject(new DiscoveryError('INVALID_DOCUMENT', `${domain}: answer larger than ${options.maxBodyBytes} bytes`, { domain, status }));
      };
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBodyBytes) return tooLarge();
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.maxBodyBytes) return tooLarge();
        chunks.push(chunk);
      });
      res.once('end', () => resolve({ status, headers: res.headers, body: Buffer.concat(chunks), fingerprint, path }));
      res.on('error', reject);
      res.once('close', () => {
        if (!res.complete) reject(Object.assign(new Error('connection closed before the answer was complete'), { code: 'ECONNRESET' }));
      });
    });
    req.end();
  });
}

function asDiscoveryError(error: unknown, domain: string): DiscoveryError {
  if (error instanceof DiscoveryError) return error;
  const failure = classifyNetworkError(error);
  if (failure.certificate) {
    return new DiscoveryError('CERTIFICATE_INVALID', `${domain}: TLS certificate not accepted (${failure.code})`, { domain, cause: error });
  }
  return new DiscoveryError('NETWORK_ERROR', `${domain}: connection failed (${failure.code ?? 'network error'})`, { domain, cause: error });
}
