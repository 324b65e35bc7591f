import { DiscoveryError } from './errors';

/** A cached value as handed out, with whether it is past its lifetime. */
export interface Cached<T> {
  readonly value: T;
  /** When the value was fetched (Unix ms). */
  readonly fetchedAt: number;
  /** Until when it counts as fresh (Unix ms). */
  readonly expiresAt: number;
  /** True when a refresh failed transiently and this older value stands in. */
  readonly stale: boolean;
  /** With `stale`: the refresh failure. */
  readonly error?: DiscoveryError;
}

/** How long a failure is remembered, and how long a value may outlive its lifetime on transient failures. */
export interface RefreshPolicy {
  readonly negativeTtlMs: number;
  readonly staleIfErrorMs: number;
}

interface Entry<T> {
  readonly value: T;
  readonly fetchedAt: number;
  readonly expiresAt: number;
}

/**
 * A keyed cache that loads on miss or expiry, with the behaviours the page's cache
 * sketch lacks: concurrent misses share one load (a burst of look-ups is one request),
 * failures are remembered for `negativeTtlMs` (a dead server is not hammered), and a
 * transient failure (`DiscoveryError.transient`) serves the last good value for up to
 * `staleIfErrorMs` past its lifetime, marked `stale` (RFC 5861's stale-if-error).
 * A permanent failure drops the old value: a server that now refuses must not be
 * described by what it said before. All time comes from `now()`.
 */
export class RefreshCache<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly failures = new Map<string, { error: unknown; until: number }>();
  private readonly inflight = new Map<string, Promise<Cached<T>>>();

  constructor(
    private readonly now: () => number,
    private readonly policy: RefreshPolicy,
  ) {}

  /**
   * The value for `key`, loading it when missing or expired. `load` receives the previous
   * value (for revalidation) and returns the new one with its lifetime.
   */
  get(key: string, load: (previous: T | undefined) => Promise<{ value: T; ttlMs: number }>): Promise<Cached<T>> {
    const now = this.now();
    const entry = this.entries.get(key);
    if (entry !== undefined && now < entry.expiresAt) return Promise.resolve({ ...entry, stale: false });
    const failure = this.failures.get(key);
    if (failure !== undefined && now < failure.until) {
      return new Promise((resolve) => resolve(this.fallback(key, entry, failure.error, now)));
    }
    const running = this.inflight.get(key);
    if (running !== undefined) return running;
    const loading = this.load(key, entry, load).finally(() => this.inflight.delete(key));
    this.inflight.set(key, loading);
    return loading;
  }

  /** Forgets everything about `key`: the next `get` loads. */
  delete(key: string): void {
    this.entries.delete(key);
    this.failures.delete(key);
  }

  private async load(key: string, entry: Entry<T> | undefined, load: (previous: T | undefined) => Promise<{ value: T; ttlMs: number }>): Promise<Cached<T>> {
    try {
      const { value, ttlMs } = await load(entry?.value);
      const fetchedAt = this.now();
      const fresh = { value, fetchedAt, expiresAt: fetchedAt + ttlMs };
      this.entries.set(key, fresh);
      this.failures.delete(key);
      return { ...fresh, stale: false };
    } catch (error) {
      const now = this.now();
      this.failures.set(key, { error, until: now + this.policy.negativeTtlMs });
      return this.fallback(key, entry, error, now);
    }
  }

  private fallback(key: string, entry: Entry<T> | undefined, error: unknown, now: number): Cached<T> {
    if (!(error instanceof DiscoveryError && error.transient)) {
      this.entries.delete(key);
      throw error;
    }
    if (entry === undefined || now >= entry.expiresAt + this.policy.staleIfErrorMs) throw error;
    return { ...entry, stale: true, error };
  }
}
