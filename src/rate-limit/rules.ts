import type { RateLimitKey, ResolvedRateLimitRule } from '../config/options';
import { resolvedPaths } from '../http/path-readings';

/** One rule, ready for the hot path: prefixes normalised, its `RateLimit-Policy` member built once. */
export interface CompiledRule {
  readonly name: string;
  readonly key: RateLimitKey;
  readonly limit: number;
  readonly windowMs: number;
  /** The limit of this process's fallback, when the shared store cannot answer: limit ÷ replicas, at least 1. */
  readonly fallbackLimit: number;
  /** `"name";q=limit;w=seconds` (a member of the `RateLimit-Policy` list). */
  readonly policy: string;
  readonly entries: readonly { readonly method: string | undefined; readonly prefix: string }[];
}

/** The rules a request matched; the same empty array for none, so that the common case allocates nothing. */
export const NO_RULES: readonly CompiledRule[] = Object.freeze([]);

/**
 * `RateLimit-Policy` member of a rule (draft-ietf-httpapi-ratelimit-headers-10 §3): its name as
 * a structured-field string, the quota `q` and the window `w` in seconds. Names are checked at
 * configuration to be plain tokens, so nothing needs escaping. Pure.
 */
export function policyMember(name: string, limit: number, windowMs: number): string {
  return `"${name}";q=${limit};w=${Math.ceil(windowMs / 1000)}`;
}

/** Compiles the rules in force (pure); `replicas` divides the fallback's limits. */
export function compileRules(rules: readonly ResolvedRateLimitRule[], replicas: number): CompiledRule[] {
  return rules.map((r) => ({
    name: r.name,
    key: r.key,
    limit: r.limit,
    windowMs: r.windowMs,
    fallbackLimit: Math.max(1, Math.floor(r.limit / replicas)),
    policy: policyMember(r.name, r.limit, r.windowMs),
    // Matched against the lenient view of the path, so in the same form; a trailing "/" says
    // nothing more, since a prefix always ends at a segment boundary.
    entries: r.match.map((m) => ({ method: m.method, prefix: leniently(m.prefix).replace(/\/+$/, '') })),
  }));
}

/**
 * Every way an upstream might read the path (percent-decoded, folded, `;parameters` cut,
 * `..` resolved; the same readings the federation guard judges), so that `/Federation/`,
 * `/%66ederation/` or `/v1/../federation/` count where `/federation/` does. A plain path
 * (lower case, nothing to decode or resolve) is its own only reading.
 */
function readingsOf(path: string): readonly string[] {
  return isPlain(path) ? [path] : [path.toLowerCase(), ...resolvedPaths(path)];
}

/** One reading of a configured prefix (validated: plain, decoded). */
function leniently(prefix: string): string {
  return [...resolvedPaths(prefix)][0] ?? prefix;
}

/**
 * True for a path every reading leaves as it is (the common case, checked without
 * allocating): lower case, no `%`, `\`, `;`, whitespace, empty or dot segment.
 */
function isPlain(path: string): boolean {
  let previous = 0x2f; // the leading "/"
  for (let i = 1; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 /* % */ || c === 0x5c /* \ */ || c === 0x3b /* ; */ || c <= 0x20 || c >= 0x7f) return false;
    if (c >= 0x41 && c <= 0x5a) return false; // A-Z
    if (previous === 0x2f && (c === 0x2f || c === 0x2e)) return false; // "//" or "/." starts a segment to normalise
    previous = c;
  }
  return path.charCodeAt(0) === 0x2f;
}

/** True when `path` (a lenient view) is `prefix` or lies below it: prefixes end at a segment boundary. */
function under(path: string, prefix: string): boolean {
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 0x2f; /* / */
}

/**
 * The rules `method path` matches, in configuration order; every one of them counts the
 * request. Pure.
 *
 * @param path the request path without the query, as received
 */
export function matchRules(rules: readonly CompiledRule[], method: string, path: string): readonly CompiledRule[] {
  if (rules.length === 0) return NO_RULES;
  const views = readingsOf(path);
  let matched: CompiledRule[] | undefined;
  for (const rule of rules) {
    for (const entry of rule.entries) {
      if ((entry.method === undefined || entry.method === method) && views.some((view) => under(view, entry.prefix))) {
        (matched ??= []).push(rule);
        break;
      }
    }
  }
  return matched ?? NO_RULES;
}
