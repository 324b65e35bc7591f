/**
 * How an upstream might read a request path. The gateway forwards the path exactly as
 * received; these readings only decide what it refuses. Upstream routers disagree on the
 * details (one decodes twice, one strips `;jsessionid=…` path parameters as servlet
 * containers do, one trims whitespace, one folds case or Unicode compatibility forms), so
 * a guard that must not be walked around considers every reading at once and refuses if
 * any of them lands on a guarded segment.
 */

/** Percent-decoding is repeated this often: `%2566` (double-encoded `f`) must not survive. */
const MAX_DECODES = 3;

/** Non-fatal: an invalid UTF-8 sequence reads as U+FFFD instead of throwing. */
const UTF8 = new TextDecoder('utf-8');

/** A path whose bytes are printable ASCII without `%` reads the same in every way but case: the common case. */
const PLAIN = /^[\u0021-\u0024\u0026-\u007e]*$/;

/** Combining marks and code points renderers ignore (soft hyphen, zero-width space, BOM…). */
const INVISIBLE = /[\p{M}\p{Default_Ignorable_Code_Point}]/gu;
/** Whitespace at either end of a segment, `+` included (some decoders read it as a space in paths too). */
const EDGE_SPACE = /^[\s+]+|[\s+]+$/g;

/** Every distinct byte sequence the path can decode to: as received, then each round of percent-decoding. */
function decodings(path: string): Buffer[] {
  let bytes: Buffer = Buffer.from(path, 'latin1');
  const layers: Buffer[] = [bytes];
  for (let i = 0; i < MAX_DECODES; i++) {
    const next = percentDecoded(bytes);
    if (next === null) break;
    layers.push(next);
    bytes = next;
  }
  return layers;
}

/** One round of percent-decoding, leniently: a `%` without two hex digits stays as it is. Null when nothing was encoded. */
function percentDecoded(bytes: Buffer): Buffer | null {
  let first = bytes.indexOf(0x25 /* % */);
  while (first !== -1 && !(isHex(bytes[first + 1]) && isHex(bytes[first + 2]))) first = bytes.indexOf(0x25, first + 1);
  if (first === -1) return null;
  const out = Buffer.allocUnsafe(bytes.length);
  bytes.copy(out, 0, 0, first);
  let o = first;
  for (let i = first; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b === 0x25 && isHex(bytes[i + 1]) && isHex(bytes[i + 2])) {
      out[o++] = (hexValue(bytes[i + 1] as number) << 4) | hexValue(bytes[i + 2] as number);
      i += 2;
    } else out[o++] = b;
  }
  return out.subarray(0, o);
}

function isHex(b: number | undefined): boolean {
  return b !== undefined && ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

function hexValue(b: number): number {
  return b <= 0x39 ? b - 0x30 : (b | 0x20) - 0x61 + 10;
}

/** Every text the path can be read as: each decoding, as UTF-8 and as Latin-1 (servers differ). */
function readings(path: string): string[] {
  if (PLAIN.test(path)) return [path];
  const texts = new Set<string>();
  for (const bytes of decodings(path)) {
    texts.add(UTF8.decode(bytes));
    texts.add(bytes.toString('latin1'));
  }
  return [...texts];
}

/**
 * True when the path holds a control character (NUL, CR, LF, TAB, DEL, C1), raw or
 * percent-encoded at any depth. No route needs one, and upstreams differ on what they do
 * with them (truncate at NUL, split at CR LF, trim a tab): such a path is refused. Pure.
 */
export function hasControlCharacter(path: string): boolean {
  if (PLAIN.test(path)) return false;
  for (const bytes of decodings(path)) {
    // Byte for byte: C0 controls and DEL.
    for (const b of bytes) if (b < 0x20 || b === 0x7f) return true;
    // As UTF-8, also the C1 controls (U+0085 is a line break to some runtimes).
    const text = UTF8.decode(bytes);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80 && c <= 0x9f) return true;
    }
  }
  return false;
}

/**
 * One segment as a lenient router might compare it: compatibility forms and accents
 * folded to their base letters (`ｆ` → `f`, `é` → `e`), invisible code points dropped,
 * `;parameters` cut off, surrounding whitespace trimmed, case folded (both ways, so
 * that `ı` and `ſ` count as `i` and `s`). Pure.
 */
export function foldSegment(segment: string): string {
  let s = segment.normalize('NFKD').replace(INVISIBLE, '');
  const semicolon = s.indexOf(';');
  if (semicolon !== -1) s = s.slice(0, semicolon);
  return s.replace(EDGE_SPACE, '').toUpperCase().toLowerCase();
}

/**
 * The first path segment under every reading of `path`, folded (see `foldSegment`): with
 * `/` and `\` as separators, empty and `.` segments skipped, and both without and with
 * `..` resolved (an upstream may route on the raw segments, or on the resolved path).
 * `/v1/../Federation;x/a` gives `v1` and `federation`. Pure.
 *
 * @param path the request path without the query, as received
 */
export function firstSegments(path: string): Set<string> {
  const found = new Set<string>();
  for (const text of readings(path)) {
    const resolved: string[] = [];
    let first: string | undefined;
    for (const raw of text.split(/[/\\]/)) {
      const segment = foldSegment(raw);
      if (segment === '' || segment === '.') continue;
      first ??= segment;
      if (segment === '..') resolved.pop();
      else resolved.push(segment);
    }
    if (first !== undefined) found.add(first);
    if (resolved[0] !== undefined) found.add(resolved[0]);
  }
  return found;
}

/**
 * The whole path under every reading of `path`, segments folded and `..` resolved, as
 * `/a/b` (see `firstSegments` for the readings). `/v1/%2e%2e/admin` gives `/admin`. Pure.
 *
 * @param path the request path without the query, as received
 */
export function resolvedPaths(path: string): Set<string> {
  const found = new Set<string>();
  for (const text of readings(path)) {
    const resolved: string[] = [];
    for (const raw of text.split(/[/\\]/)) {
      const segment = foldSegment(raw);
      if (segment === '' || segment === '.') continue;
      if (segment === '..') resolved.pop();
      else resolved.push(segment);
    }
    found.add(`/${resolved.join('/')}`);
  }
  return found;
}
