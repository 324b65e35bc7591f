import { admits, decision, windowOf, type Decision } from './sliding-window';

/** One key's two windows. */
interface Counter {
  /** Index of the window `current` counts. */
  index: number;
  previous: number;
  current: number;
  /** When both windows are over and the counter says nothing any more. */
  expiresAt: number;
}

/**
 * Sliding-window counters in this process: a `Map` kept in least-recently-used order (a hit
 * moves its key to the end), bounded by `maxKeys`. A flood of distinct keys evicts the
 * least recently used counters; an evicted key starts again from zero, so eviction can only
 * make the limiter more lenient, never refuse someone wrongly. Counters whose windows are
 * over are dropped lazily: each hit also looks at the oldest one.
 */
export class MemoryStore {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Keys held now. */
  get size(): number {
    return this.counters.size;
  }

  /** Checks one request against `limit` per `windowMs` for `key`, and counts it if admitted. */
  hit(key: string, limit: number, windowMs: number): Decision {
    const now = this.now();
    const { index, elapsedMs } = windowOf(now, windowMs);
    const counters = this.counters;
    // Before the lookup: the counter dropped may be this key's, whose windows are over anyway.
    this.dropExpired(now);
    let counter = counters.get(key);
    if (counter === undefined) {
      counter = { index, previous: 0, current: 0, expiresAt: 0 };
      if (counters.size >= this.maxKeys) this.evictOldest();
    } else {
      counters.delete(key);
      if (counter.index !== index) {
        // One window on: the current count becomes the previous one. Further: both are over.
        counter.previous = counter.index === index - 1 ? counter.current : 0;
        counter.current = 0;
        counter.index = index;
      }
    }
    counters.set(key, counter);
    const allowed = admits(limit, counter.previous, counter.current, elapsedMs, windowMs);
    if (allowed) {
      counter.current++;
      counter.expiresAt = (index + 2) * windowMs;
    }
    return decision(allowed, limit, counter.previous, counter.current, elapsedMs, windowMs);
  }

  /** Forgets every counter. */
  clear(): void {
    this.counters.clear();
  }

  private evictOldest(): void {
    const oldest = this.counters.keys().next();
    if (!oldest.done) this.counters.delete(oldest.value);
  }

  /** The least recently used counter goes if both its windows are over (one per hit: O(1)). */
  private dropExpired(now: number): void {
    const oldest = this.counters.entries().next();
    if (!oldest.done && oldest.value[1].expiresAt <= now) this.counters.delete(oldest.value[0]);
  }
}
