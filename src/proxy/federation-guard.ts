import { FEDERATION_PREFIX } from '../protocol/paths';

/**
 * The path as a lenient upstream router might read it: percent-decoded, repeated slashes
 * collapsed, dot segments resolved, lower case (Express routes are case-insensitive by
 * default). The request itself is forwarded unchanged; this view only decides refusals. Pure.
 */
export function canonicalPath(path: string): string {
  let decoded = path;
  // Decode repeatedly: `%252e` must not survive as a way around the guard.
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      break;
    }
    if (next === decoded) break;
    decoded = next;
  }
  const segments: string[] = [];
  for (const segment of decoded.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`.toLowerCase();
}

/**
 * True when a request must be refused with 403 `FEDERATION_DISABLED` because the
 * published document says `federation_enabled: false`: the gateway enforces what it
 * advertises, and the upstream never sees the request. Pure.
 *
 * @param path the request path without the query, as received
 */
export function federationRefused(path: string, federationEnabled: boolean): boolean {
  if (federationEnabled) return false;
  const canonical = canonicalPath(path);
  return canonical === '/federation' || canonical.startsWith(FEDERATION_PREFIX);
}
