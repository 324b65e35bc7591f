import { isIP } from 'node:net';

/**
 * SNI and certificate checks against the upstream's own name, not the public Host header
 * that the request carries through; undefined for plain HTTP and IP literals.
 */
export function sniOf(upstream: URL): { servername: string } | undefined {
  return upstream.protocol === 'https:' && isIP(upstream.hostname) === 0 ? { servername: upstream.hostname } : undefined;
}
