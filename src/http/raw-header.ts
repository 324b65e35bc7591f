/**
 * One request header read straight from `rawHeaders` (name/value pairs as received).
 * Node builds `req.headers` lazily, on first access, for every field at once; a handler
 * that needs a single field and nothing else is cheaper scanning the pairs.
 *
 * @param lowerName the field name in lower case
 * @returns the value; repeated fields joined with ", " (as `req.headers` joins them); undefined if absent
 */
export function rawHeader(rawHeaders: readonly string[], lowerName: string): string | undefined {
  let value: string | undefined;
  const length = lowerName.length;
  for (let i = 0; i < rawHeaders.length - 1; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length !== length || name.toLowerCase() !== lowerName) continue;
    const v = rawHeaders[i + 1] as string;
    value = value === undefined ? v : `${value}, ${v}`;
  }
  return value;
}
