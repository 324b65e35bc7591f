/**
 * The path as a lenient upstream router might read it, for matching rules: a client must
 * not get around a limit by writing `/Federation/`, `//federation/`, `/%66ederation/`,
 * `/v1/../federation/` or `/federation;x/`. Percent-decoded (repeatedly), backslashes read as
 * slashes, empty and `.` segments dropped, `..` resolved, `;parameters` and surrounding
 * whitespace removed from each segment, lower case. The request itself is forwarded as
 * received; this view only decides what is counted. Pure.
 */
export function matchingPath(path: string): string {
  return isPlain(path) ? path : lenient(path);
}

/**
 * True for a path the lenient reading leaves as it is (the common case, checked without
 * allocating): lower-case, no `%`, `\`, `;`, whitespace, empty or dot segment.
 */
function isPlain(path: string): boolean {
  let previous = 0x2f; // the leading "/"
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x5c /* \ */ || c === 0x3b /* ; */ || c <= 0x20 || c === 0x7f) return false;
    if (c >= 0x41 && c <= 0x5a) return false; // A-Z
    if (previous === 0x2f && (c === 0x2f || c === 0x2e)) return false; // "//" or "/." starts a segment to normalise
    previous = c;
  }
  return path.charCodeAt(0) === 0x2f;
}

function lenient(path: string): string {
  let decoded = path;
  // Decode repeatedly: `%252e` must not survive as a way around a rule.
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
  for (const raw of decoded.replace(/\\/g, '/').split('/')) {
    const semicolon = raw.indexOf(';');
    const segment = (semicolon === -1 ? raw : raw.slice(0, semicolon)).trim();
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  // A trailing slash is kept: "/federation/" and "/federation" match the same rules anyway.
  return `/${segments.join('/')}`.toLowerCase();
}
