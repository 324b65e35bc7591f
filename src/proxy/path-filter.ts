import { resolvedPaths } from '../http/path-readings';

/**
 * `proxy.paths`: which request paths the gateway forwards. A prefix is whole path segments
 * (`/v1/` and `/v1` both cover `/v1` and `/v1/…`, never `/v1x`), letter case ignored. A
 * path is forwarded only when it is inside a prefix both as sent and as a lenient upstream
 * would resolve it (every reading of `resolvedPaths`: percent-decoded, folded, dot segments applied): `/v1/../admin` and
 * `/admin/../v1` stay out, whichever reading a router behind it takes.
 */
export class PathFilter {
  /** Lower case, without a trailing slash. */
  private readonly prefixes: readonly string[];
  /** `["/"]`, the default: every path, decided without looking at it. */
  readonly everything: boolean;

  constructor(paths: readonly string[]) {
    this.everything = paths.includes('/');
    this.prefixes = paths.map((p) => (p.endsWith('/') ? p.slice(0, -1) : p).toLowerCase());
  }

  /** True when `path` (without the query) is to be forwarded. Pure. */
  forwards(path: string): boolean {
    if (this.everything) return true;
    if (!this.inside(path.toLowerCase())) return false;
    for (const reading of resolvedPaths(path)) if (!this.inside(reading)) return false;
    return true;
  }

  private inside(path: string): boolean {
    for (const prefix of this.prefixes) {
      if (path.startsWith(prefix) && (path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f) /* / */) return true;
    }
    return false;
  }
}
