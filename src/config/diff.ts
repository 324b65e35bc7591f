import type { ResolvedConfig } from './options';

/**
 * The dotted keys whose value differs between two resolved configurations, sorted:
 * `proxy.timeoutMs`, `discovery.document.rate_limits.announcements_per_hour`. Plain
 * objects are compared key by key; lists, URLs and anything else are leaves (a list that
 * changed is named once, `proxy.paths`). Keys present on one side only count as changed.
 */
export function changedKeys(running: ResolvedConfig, next: ResolvedConfig): string[] {
  const changed: string[] = [];
  walk(running, next, '', changed);
  return changed.sort();
}

/** Objects named as one key: an address is one value, not a host and a port. */
const WHOLE = new Set(['listen', 'metrics.listen', 'rateLimits.redis.target']);

function walk(a: unknown, b: unknown, path: string, out: string[]): void {
  if (WHOLE.has(path)) {
    if (!sameValue(a, b)) out.push(path);
    return;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
      walk(a[key], b[key], path === '' ? key : `${path}.${key}`, out);
    }
    return;
  }
  if (!sameLeaf(a, b)) out.push(path === '' ? '(root)' : path);
}

function sameLeaf(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (a instanceof URL && b instanceof URL) return a.href === b.href;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  return false;
}

/** Deep equality for list items (rate-limit rules are objects inside a list). */
function sameValue(a: unknown, b: unknown): boolean {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => sameValue(a[key], b[key]));
  }
  return sameLeaf(a, b);
}

/** Only objects made by literals are walked into: a URL or a Redis client is a value, not a tree. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}
