import { ANNOUNCE_PATH, FEDERATION_PREFIX } from '../protocol/paths';
import type { RateLimits } from '../protocol/document';
import type { RateLimitKey, ResolvedRateLimitRule } from './options';

/**
 * Announcements one address may make per hour, in units of the document's per-device
 * `announcements_per_hour`. The protocol's limit is per device, and the device id is in the
 * (unauthenticated) body; by address, the gateway can only guard against floods, and NAT or
 * CGNAT put many devices behind one address. The server still enforces its own per-device limit.
 */
export const ANNOUNCE_DEVICES_PER_ADDRESS = 10;

/** The windows of the document's limits: per minute and per hour. */
const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/**
 * The rules the gateway enforces when none are configured, from the document it publishes:
 * what is advertised and what is enforced come from the same numbers. Called at resolve time
 * and again whenever the published document changes. Pure.
 */
export function documentRateLimitRules(limits: Pick<RateLimits, 'federated_messages_per_minute' | 'announcements_per_hour'>): ResolvedRateLimitRule[] {
  return [
    // Federation counts requests per sending address: the document's limit counts messages,
    // and one delivery may carry several, so this never admits fewer than the server would.
    { name: 'federation', match: [{ method: undefined, prefix: FEDERATION_PREFIX }], key: 'ip', limit: limits.federated_messages_per_minute, windowMs: MINUTE_MS },
    { name: 'announce', match: [{ method: 'POST', prefix: ANNOUNCE_PATH }], key: 'ip', limit: ANNOUNCE_DEVICES_PER_ADDRESS * limits.announcements_per_hour, windowMs: HOUR_MS },
  ];
}

/** `"/prefix"` or `"METHOD /prefix"`: a method in upper case, a path starting with `/`. */
const MATCH_PATTERN = /^(?:([A-Z][A-Z-]*) +)?(\/\S*)$/;

/** One `match` entry parsed, or undefined when it is not of the form `"/prefix"` or `"METHOD /prefix"`. Pure. */
export function parseMatch(text: string): { method: string | undefined; prefix: string } | undefined {
  const m = MATCH_PATTERN.exec(text.trim());
  if (m === null) return undefined;
  return { method: m[1], prefix: m[2] as string };
}

/** A header name is an RFC 9110 §5.1 token. */
const HEADER_KEY_PATTERN = /^header:([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/;

/** A `key` in canonical form (header names in lower case), or undefined when it is none of `ip`, `bearer`, `header:<name>`. Pure. */
export function parseKey(text: string): RateLimitKey | undefined {
  if (text === 'ip' || text === 'bearer') return text;
  const m = HEADER_KEY_PATTERN.exec(text);
  return m === null ? undefined : `header:${(m[1] as string).toLowerCase()}`;
}
