import { createHash } from 'node:crypto';
import { decision, type Decision } from './sliding-window';
import type { ScriptClient } from './redis-script';
import { SCRIPT_COMMAND } from './redis-script';

/** Hex digits of the SHA-256 kept in a key: 128 bits, no collision to fear, short keys. */
const DIGEST_HEX = 32;

/**
 * The base of a key's two windows: `prefix{rule:digest}`. The client key (an address, a
 * token's hash) is hashed again, so no address or token appears in Redis, in its slow log
 * or in a `MONITOR`. Pure.
 */
export function redisKeyBase(keyPrefix: string, rule: string, clientKey: string): string {
  return `${keyPrefix}{${rule}:${createHash('sha256').update(clientKey).digest('hex').slice(0, DIGEST_HEX)}}`;
}

/** Sliding-window counters in Redis, shared by every replica that uses the same Redis and prefix. */
export class RedisStore {
  constructor(
    private readonly client: ScriptClient,
    private readonly keyPrefix: string,
  ) {}

  /** Checks one request and counts it if admitted; rejects when Redis fails (the caller bounds the wait). */
  async hit(rule: string, clientKey: string, limit: number, windowMs: number): Promise<Decision> {
    const [admitted, current, previous, elapsed] = await this.client[SCRIPT_COMMAND](redisKeyBase(this.keyPrefix, rule, clientKey), windowMs, limit);
    return decision(admitted === 1, limit, previous, current, elapsed, windowMs);
  }
}
