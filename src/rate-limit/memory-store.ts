import { admits, decision, windowOf, type Decision } from './sliding-window';

/** One key's two windows. */
interface Counter {
  /** Index of the window `current` counts. */
  index: number;
  previous: number;
  current: number;
  /** When both windows are over and the counter says nothing any more. */
  expiresAt: number;
  /** The store's hit count when the key was last moved to the recent end. */
  touched: number;
}

/**
 * Sliding-window counters in this process: a `Map` kept in least-recently-used order,
 * bounded by `maxKeys`. A flood of distinct keys evicts the least recently used counters; an
 * evicted key starts again from zero, so eviction can only make the limiter more lenient,
 * never refuse someone wrongly. A key in use is moved to the recent end once it has fallen
 * a quarter of the way back (not on every hit: a hot key then costs a lookup, not two map
 * writes), so a key hit at least once per `maxKeys / 4` checks is never evicted. Counters
 * whose windows are over are dropped lazily, as new keys come in.
 */
export class MemoryStore {
  private readonly counters = new Map<string, Counter>();
  private hits = 0;
  private readonly touchEvery: number;

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {
    this.touchEvery = Math.max(1, Math.floor(maxKeys / 4));
  }

  /** Keys held now. */
  get size(): number {
    return this.counters.size;
  }

  /** Checks one request against `limit` per `windowMs` for `key`, and counts it if admitted. */
  hit(key: string, limit: number, windowMs: number): Decision {
    const now = this.now();
    const { index, elapsedMs } = windowOf(now, windowMs);
    const counters = this.counters;
    const hits = ++this.hits;
    let counter = counters.get(key);
    if (counter === undefined) {
      this.dropExpired(now);
      if (counters.size >= this.maxKeys) this.evictOldest();
      counter = { index, previous: 0, current: 0, expiresAt: 0, touched: hits };
      counters.set(key, counter);
    } else {
      if (hits - counter.touched >= this.touchEvery) {
        counters.delete(key);
        counters.set(key, counter);
        counter.touched = hits;
      }
      if (counter.index !== index) {
        // One window on: the current count becomes the previous one. Further: both are over.
        counter.previous = counter.index === index - 1 ? counter.current : 0;
        counter.current = 0;
        counter.index = index;
      }
    }
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

  /** Up to two of the least recently used counters go if both their windows are over: amortised O(1). */
  private dropExpired(now: number): void {
    for (let i = 0; i < 2; i++) {
      const oldest = this.counters.entries().next();
      if (oldest.done || oldest.value[1].expiresAt > now) return;
      this.counters.delete(oldest.value[0]);
    }
  }
}
