import { isFqdn } from '../protocol/document';
import type { CaOption } from './https-get';

/** Gives the base URL (`https://host:port`) to connect to for a domain; the domain stays the name verified. */
export type Resolver = (domain: string) => string | URL | Promise<string | URL>;

/** How to reach a server: shared by `discover`, `checkHealth` and `DiscoveryClient`. */
export interface ConnectionOptions {
  /** Trusted CA certificates (PEM), replacing the system store. @default the system trust store */
  ca?: CaOption;
  /**
   * Where to connect for a domain (tests, private deployments, split DNS): the TLS
   * certificate is still verified against the domain, and SNI and `Host` carry it.
   * @default `https://{domain}`
   */
  resolve?: Resolver;
  /** Deadline for one exchange, redirects and body included. @default 10000 */
  timeoutMs?: number;
  /** Largest body accepted. @default 65536 */
  maxBodyBytes?: number;
  /** Redirects followed (HTTPS, same host only). @default 3 */
  maxRedirects?: number;
}

/** The defaults of `ConnectionOptions`, in one place. */
export const CONNECTION_DEFAULTS = {
  timeoutMs: 10_000,
  // The published document is well under 1 KiB; 64 KiB leaves room for future fields.
  maxBodyBytes: 64 * 1024,
  maxRedirects: 3,
} as const;

/**
 * The domain as compared with `server_name`: lower case, without a trailing dot. Throws a
 * `TypeError` for anything that is not a fully qualified domain name (no IPs, no ports).
 */
export function normalizeDomain(domain: string): string {
  const name = domain.trim().toLowerCase().replace(/\.$/, '');
  if (!isFqdn(name)) throw new TypeError(`not a fully qualified domain name: ${JSON.stringify(domain).slice(0, 100)}`);
  return name;
}

/** The URL to open a connection to for `domain`: HTTPS only, whatever `resolve` says. */
export async function connectUrl(domain: string, resolve: Resolver | undefined): Promise<URL> {
  if (resolve === undefined) return new URL(`https://${domain}`);
  const target = await resolve(domain);
  const url = new URL(String(target));
  if (url.protocol !== 'https:') throw new TypeError(`resolve(${domain}) must give an https:// URL, got ${url.protocol}`);
  return url;
}
