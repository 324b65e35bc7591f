/**
 * The sliding-window counter: two fixed windows, the previous one weighted by how much of
 * it the sliding window still covers. With `e` ms elapsed in the current window of `W` ms,
 *
 *     estimate = previous × (W − e) / W + current
 *
 * and a request is admitted while `estimate < limit`, then counted (refused requests are not
 * counted, so a client over its limit is admitted again at the limit's pace). Memory is two
 * counters per key, in the memory store and in Redis alike. The estimate is exact when the
 * previous window's admissions were spread evenly; there is never a burst at a window
 * boundary; in the worst case (the previous window's admissions all at its very end) a
 * W-long window straddling the boundary holds at most 2 × limit, and the second half of
 * those arrive spread over the new window (at most limit × e / W by time e), never at once.
 * Every function here is pure.
 */

/** What one check answers: admitted or not, what is left, and when it gets better. */
export interface Decision {
  readonly allowed: boolean;
  /** Requests that would still be admitted if they came now. */
  readonly remaining: number;
  /**
   * Admitted: whole seconds until the current window ends. Refused: whole seconds until a
   * request would be admitted again (the `retry_after`), at least 1.
   */
  readonly resetSeconds: number;
}

/** Window index and the milliseconds elapsed in it; windows are aligned to the epoch, so every store and replica cuts them at the same instants. */
export function windowOf(nowMs: number, windowMs: number): { index: number; elapsedMs: number } {
  const index = Math.floor(nowMs / windowMs);
  return { index, elapsedMs: nowMs - index * windowMs };
}

/** The estimated number of requests in the sliding window that ends now. */
export function estimate(previous: number, current: number, elapsedMs: number, windowMs: number): number {
  return (previous * (windowMs - elapsedMs)) / windowMs + current;
}

/** True when one more request fits: the admission rule (the Redis script applies the same). */
export function admits(limit: number, previous: number, current: number, elapsedMs: number, windowMs: number): boolean {
  return estimate(previous, current, elapsedMs, windowMs) < limit;
}

/**
 * The decision as answered, from the counts after the check (`current` includes the request
 * when it was admitted).
 */
export function decision(allowed: boolean, limit: number, previous: number, current: number, elapsedMs: number, windowMs: number): Decision {
  if (!allowed) return { allowed, remaining: 0, resetSeconds: Math.max(1, Math.ceil(waitMs(limit, previous, current, elapsedMs, windowMs) / 1000)) };
  // Each further admission adds 1 to the estimate, and one is admitted while it is below the limit.
  const remaining = Math.max(0, Math.ceil(limit - estimate(previous, current, elapsedMs, windowMs)));
  return { allowed, remaining, resetSeconds: Math.max(1, Math.ceil((windowMs - elapsedMs) / 1000)) };
}

/**
 * Milliseconds until a request would be admitted, for a refused one: the earliest moment the
 * estimate falls below the limit, in this window (the previous window's weight shrinking) or
 * in the next one (where `current` becomes the previous window's count).
 */
export function waitMs(limit: number, previous: number, current: number, elapsedMs: number, windowMs: number): number {
  if (admits(limit, previous, current, elapsedMs, windowMs)) return 0;
  if (current < limit && previous > 0) {
    // previous × (W − t) / W + current < limit  ⇔  t > W × (1 − (limit − current) / previous)
    const t = windowMs * (1 - (limit - current) / previous);
    return Math.max(1, Math.floor(t) + 1 - elapsedMs);
  }
  // Not in this window: in the next one, current × (W − t) / W < limit.
  const untilNext = windowMs - elapsedMs;
  const intoNext = current < limit ? 0 : Math.floor(windowMs * (1 - limit / current)) + 1;
  return untilNext + intoNext;
}
