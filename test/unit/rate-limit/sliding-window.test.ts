import { MemoryStore } from '../../../src/rate-limit/memory-store';
import { admits, decision, estimate, waitMs, windowOf } from '../../../src/rate-limit/sliding-window';

/** A memory store on a clock the test moves. */
function clocked(): { store: MemoryStore; at(ms: number): void } {
  let now = 0;
  return { store: new MemoryStore(1000, () => now), at: (ms) => void (now = ms) };
}

/** The most admissions any window of `windowMs` holds, over the admission times given (sorted). */
function busiestWindow(times: readonly number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let i = 0; i < times.length; i++) {
    while ((times[i] as number) - (times[first] as number) >= windowMs) first++;
    most = Math.max(most, i - first + 1);
  }
  return most;
}

describe('the sliding-window counter', () => {
  it('cuts windows at multiples of the window length since the epoch', () => {
    expect(windowOf(0, 1000)).toEqual({ index: 0, elapsedMs: 0 });
    expect(windowOf(2999, 1000)).toEqual({ index: 2, elapsedMs: 999 });
    expect(windowOf(1_700_000_000_123, 60_000)).toEqual({ index: 28_333_333, elapsedMs: 20_123 });
  });

  it('weights the previous window by the share of it the sliding window still covers', () => {
    expect(estimate(100, 0, 0, 1000)).toBe(100);
    expect(estimate(100, 10, 250, 1000)).toBe(85);
    expect(estimate(100, 10, 1000, 1000)).toBe(10);
  });

  it('admits while the estimate is below the limit', () => {
    expect(admits(10, 0, 9, 0, 1000)).toBe(true);
    expect(admits(10, 0, 10, 0, 1000)).toBe(false);
    expect(admits(10, 10, 0, 0, 1000)).toBe(false);
    expect(admits(10, 10, 0, 1, 1000)).toBe(true);
  });

  it('admits exactly the limit in a fresh window, then refuses', () => {
    const { store, at } = clocked();
    at(5_000);
    const answers = Array.from({ length: 12 }, () => store.hit('k', 10, 1000).allowed);
    expect(answers.filter(Boolean)).toHaveLength(10);
    expect(answers.slice(10)).toEqual([false, false]);
  });

  it('holds a steady flood at the limit per window with arrivals spread evenly: the estimate is then exact', () => {
    const { store, at } = clocked();
    const limit = 100;
    const windowMs = 1000;
    const admitted: number[] = [];
    // Three times the limit, one request every 10/3 ms, for ten windows after a warm-up window.
    for (let i = 0; i < 3 * limit * 11; i++) {
      const t = 10_000 + Math.floor((i * windowMs) / (3 * limit));
      at(t);
      if (store.hit('k', limit, windowMs).allowed) admitted.push(t);
    }
    const steady = admitted.filter((t) => t >= 11_000);
    for (let w = 11; w < 21; w++) {
      const inWindow = steady.filter((t) => t >= w * 1000 && t < (w + 1) * 1000).length;
      expect(inWindow).toBeGreaterThanOrEqual(limit - 2);
      expect(inWindow).toBeLessThanOrEqual(limit);
    }
    // Any window of W ms, aligned or not, holds the limit (give or take the one in flight).
    expect(busiestWindow(steady, windowMs)).toBeLessThanOrEqual(limit + 1);
  });

  it('never lets a straddling window hold more than twice the limit, and spreads the second half over the new window', () => {
    const { store, at } = clocked();
    const limit = 100;
    const windowMs = 1000;
    const admitted: number[] = [];
    // The worst case: the previous window's whole allowance in its last millisecond...
    at(1999);
    for (let i = 0; i < 2 * limit; i++) if (store.hit('k', limit, windowMs).allowed) admitted.push(1999);
    expect(admitted).toHaveLength(limit);
    // ...then a request every millisecond through the new window.
    for (let t = 2000; t < 3000; t++) {
      at(t);
      if (store.hit('k', limit, windowMs).allowed) admitted.push(t);
    }
    const busiest = busiestWindow(admitted, windowMs);
    expect(busiest).toBeLessThanOrEqual(2 * limit);
    // The bound is reached, not merely safe: the W ms from 1999 hold almost twice the limit.
    expect(busiest).toBeGreaterThan(1.9 * limit);
    // No burst in the new window: by e ms into it, at most limit × e / W + 1 were admitted.
    for (let e = 1; e <= 1000; e++) {
      const byThen = admitted.filter((t) => t >= 2000 && t < 2000 + e).length;
      expect(byThen).toBeLessThanOrEqual((limit * e) / windowMs + 1);
    }
  });

  it("does not count refused requests, so a client over its limit gets in again at the limit's pace", () => {
    const { store, at } = clocked();
    at(0);
    for (let i = 0; i < 50; i++) store.hit('k', 5, 1000);
    // 5 admitted, 45 refused: a fifth into the next window the estimate is 5 × 0.8 = 4 (it
    // would be 40 had the refusals counted), so one more is admitted.
    at(1200);
    expect(store.hit('k', 5, 1000).allowed).toBe(true);
    expect(store.hit('k', 5, 1000).allowed).toBe(false);
  });

  it('answers the requests left and the seconds until the window ends when it admits', () => {
    expect(decision(true, 10, 0, 1, 250, 1000)).toEqual({ allowed: true, remaining: 9, resetSeconds: 1 });
    expect(decision(true, 100, 50, 20, 30_000, 60_000)).toEqual({ allowed: true, remaining: 55, resetSeconds: 30 });
    // A fractional estimate still leaves one: 99.3 < 100 admits one more.
    expect(decision(true, 100, 7, 99, 900, 1000).remaining).toBe(1);
  });

  it('answers the seconds until a request is admitted again when it refuses', () => {
    // Full in this window, nothing before: admitted again just after the boundary.
    expect(waitMs(10, 0, 10, 400, 1000)).toBe(601);
    expect(decision(false, 10, 0, 10, 400, 1000)).toEqual({ allowed: false, remaining: 0, resetSeconds: 1 });
    // The previous window still weighs: 10 × (1000 − t) / 1000 + 5 < 10 once t > 500.
    expect(waitMs(10, 10, 5, 200, 1000)).toBe(301);
    // An hour's window: whole seconds, rounded up (admitted 1 ms after the boundary).
    expect(decision(false, 240, 0, 240, 600_000, 3_600_000).resetSeconds).toBe(3001);
    // Never 0: a refused client waits at least a second.
    expect(decision(false, 10, 10, 0, 0, 1000).resetSeconds).toBeGreaterThanOrEqual(1);
  });

  it('is right about the wait: the request it names is admitted, one a millisecond earlier is not', () => {
    const cases: [number, number, number, number, number][] = [
      [10, 0, 10, 400, 1000],
      [10, 10, 5, 200, 1000],
      [100, 100, 0, 0, 1000],
      [100, 80, 60, 100, 1000],
      [3, 7, 3, 999, 1000],
    ];
    for (const [limit, previous, current, elapsed, windowMs] of cases) {
      const wait = waitMs(limit, previous, current, elapsed, windowMs);
      const at = (t: number): boolean => {
        const e = elapsed + t;
        return e < windowMs ? admits(limit, previous, current, e, windowMs) : admits(limit, current, 0, e - windowMs, windowMs);
      };
      expect({ limit, previous, current, elapsed, ok: at(wait) }).toEqual({ limit, previous, current, elapsed, ok: true });
      expect(at(wait - 1)).toBe(false);
    }
  });
});
