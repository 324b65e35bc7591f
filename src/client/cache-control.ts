/**
 * The freshness lifetime a response grants, in seconds (RFC 9111 §5.2.2): `no-store` and
 * `no-cache` give 0, `max-age=N` gives N, otherwise undefined (the caller's default applies).
 * `s-maxage` is for shared caches and is ignored: this client is a private cache.
 */
export function maxAgeSeconds(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  let maxAge: number | undefined;
  for (const part of header.split(',')) {
    const [rawName = '', rawValue] = part.split('=', 2);
    const name = rawName.trim().toLowerCase();
    if (name === 'no-store' || name === 'no-cache') return 0;
    if (name === 'max-age' && rawValue !== undefined) {
      const value = rawValue.trim().replace(/^"(.*)"$/, '$1');
      // RFC 9111 §1.2.2: delta-seconds is digits only; anything else is invalid and ignored.
      if (/^\d+$/.test(value)) maxAge = Number(value);
    }
  }
  return maxAge;
}

/** `Retry-After` as seconds (RFC 9110 §10.2.3), either delay-seconds or an HTTP date. */
export function retryAfterSeconds(header: string | undefined, nowMs: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - nowMs) / 1000));
}
