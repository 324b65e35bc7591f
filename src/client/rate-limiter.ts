import type { DiscoveryDocument } from '../protocol/document';

/** The periods a `rate_limits` name can end in, in ms. */
const PERIODS: Readonly<Record<string, number>> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
};

/**
 * A limit name read as "N per period": `federated_messages_per_minute: 1000` is 1000
 * per 60 000 ms. Undefined for names without a known `_per_<period>` suffix.
 */
export function parseRateLimit(name: string, value: number): { capacity: number; periodMs: number } | undefined {
  const period = /_per_(second|minute|hour|day)$/.exec(name)?.[1];
  const periodMs = period === undefined ? undefined : PERIODS[period];
  if (periodMs === undefined || !(value > 0)) return undefined;
  return { capacity: value, periodMs };
}

/**
 * A token bucket: `capacity` tokens, refilled continuously at `capacity` per `periodMs`,
 * starting full. Taking from it never waits; callers ask `msUntil()` how long to.
 */
export class TokenBucket {
  private available: number;
  private updatedAt: number;

  constructor(
    private capacityValue: number,
    private periodMsValue: number,
    private readonly now: () => number = Date.now,
  ) {
    this.available = capacityValue;
    this.updatedAt = now();
  }

  /** Tokens the bucket holds when full. */
  get capacity(): number {
    return this.capacityValue;
  }

  /** Time in which a full bucket's worth refills. */
  get periodMs(): number {
    return this.periodMsValue;
  }

  /** Tokens available now (fractional while refilling). */
  get tokens(): number {
    this.refill();
    return this.available;
  }

  /** Takes `count` tokens if there are enough; false (and nothing taken) otherwise. */
  tryTake(count = 1): boolean {
    this.refill();
    if (this.available < count) return false;
    this.available -= count;
    return true;
  }

  /** Milliseconds until `count` tokens are available (0 if they are now; Infinity if more than the capacity). */
  msUntil(count = 1): number {
    this.refill();
    if (count > this.capacityValue) return Infinity;
    const missing = count - this.available;
    return missing <= 0 ? 0 : Math.ceil((missing * this.periodMsValue) / this.capacityValue);
  }

  /** Adopts a new limit, keeping the tokens held (capped at the new capacity). */
  resize(capacity: number, periodMs: number): void {
    this.refill();
    this.capacityValue = capacity;
    this.periodMsValue = periodMs;
    this.available = Math.min(this.available, capacity);
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.available = Math.min(this.capacityValue, this.available + (elapsed * this.capacityValue) / this.periodMsValue);
  }
}

/** Where the limiter reads a server's current document: a `DiscoveryClient` fits. */
export interface DocumentSource {
  capabilities(domain: string): Promise<{ readonly domain: string; readonly document: DiscoveryDocument }>;
}

/**
 * Client-side token buckets from what servers advertise in `rate_limits` (the page:
 * clients SHOULD respect them). Each call reads the document through the source's
 * cache, so a changed limit is adopted on the next call after the document refreshes.
 */
export class ServerRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly now: () => number;

  constructor(
    private readonly source: DocumentSource,
    options: { now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * The bucket for `domain`'s limit `limit` (e.g. `announcements_per_hour`), one per
   * `key` (the server counts announcements per address, say). Undefined when the server
   * does not advertise that limit, or its name has no `_per_<period>` suffix.
   */
  async limiterFor(domain: string, limit: string, key = ''): Promise<TokenBucket | undefined> {
    const { domain: name, document } = await this.source.capabilities(domain);
    const value = document.rate_limits[limit];
    const rate = value === undefined ? undefined : parseRateLimit(limit, value);
    const id = JSON.stringify([name, limit, key]);
    if (rate === undefined) {
      this.buckets.delete(id);
      return undefined;
    }
    let bucket = this.buckets.get(id);
    if (bucket === undefined) {
      bucket = new TokenBucket(rate.capacity, rate.periodMs, this.now);
      this.buckets.set(id, bucket);
    } else if (bucket.capacity !== rate.capacity || bucket.periodMs !== rate.periodMs) {
      bucket.resize(rate.capacity, rate.periodMs);
    }
    return bucket;
  }

  /** Takes `count` tokens for the limit; true also when the server advertises no such limit. */
  async tryAcquire(domain: string, limit: string, key = '', count = 1): Promise<boolean> {
    const bucket = await this.limiterFor(domain, limit, key);
    return bucket === undefined || bucket.tryTake(count);
  }
}
