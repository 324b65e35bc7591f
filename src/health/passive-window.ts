import { DEGRADED, HEALTHY } from '../protocol/health';

/**
 * One proxied request as the window counts it: when it ended, how long the upstream took
 * to answer, and whether the upstream failed it. The caller (the proxy's observer)
 * classifies; this module only counts. The contract:
 *
 * - **Upstream-origin failures** set `upstreamFailure`: connection refused, connect
 *   timeout, no response headers within `proxy.timeoutMs`, a reset before the response
 *   headers, an upstream answer of 502, 503 or 504, a failed WebSocket upgrade.
 * - **Not failures**: any other answer of the upstream, 4xx included (the client's
 *   fault), and 500 (the upstream answered; its own health says whether it is unwell).
 * - **Not recorded at all**: requests the client aborted before the upstream answered
 *   (nothing was learnt about the upstream), requests the gateway answered itself
 *   (413, 403 federation, fail-fast 503).
 */
export interface TrafficSample {
  /** When the request ended, on the same clock as the window's `now`. */
  readonly atMs: number;
  /**
   * Time from forwarding the request to the upstream's response headers. Omit it for
   * WebSocket upgrades (a tunnel's lifetime is not latency) and for requests that got no
   * response headers (their failure is counted; their time is not a latency sample).
   */
  readonly latencyMs?: number;
  /** An upstream-origin failure, as listed above. */
  readonly upstreamFailure: boolean;
  /**
   * The failure happened before any response: refused, connect timeout, no headers in
   * time, reset before headers, an upgrade that could not reach the upstream. Implies
   * `upstreamFailure`. These, in a run, trigger an immediate probe.
   */
  readonly connectionFailure?: boolean;
}

/** The passive verdict: the traffic looks fine, or it makes the upstream `degraded`, and why. */
export type PassiveVerdict = { readonly status: typeof HEALTHY } | { readonly status: typeof DEGRADED; readonly reason: string };

/** What the window holds right now. */
export interface WindowStats {
  /** Recorded requests in the window. */
  readonly requests: number;
  /** Of those, upstream-origin failures. */
  readonly failures: number;
  /** Requests with a latency sample. */
  readonly latencySamples: number;
  /** Latency samples above `p95LatencyMs`. */
  readonly slowSamples: number;
  /** Estimated p95 latency in ms (from the histogram), or undefined without samples. */
  readonly p95Ms: number | undefined;
}

/** The `health.passive` settings. */
export interface PassiveSettings {
  readonly windowMs: number;
  readonly minRequests: number;
  readonly errorRate: number;
  readonly p95LatencyMs: number;
}

/** The window is split into this many buckets: its resolution is `windowMs / 60`. */
const SLOTS = 60;

/**
 * Upper bounds of the latency histogram, as multiples of `p95LatencyMs`. The threshold
 * itself (1) is a bound, so "p95 above the threshold" is decided exactly; the other bounds
 * only serve the estimate quoted in the reason.
 */
const BOUNDS = [0.125, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2, 3, 5, 10];
/** Index of the bound equal to the threshold. */
const THRESHOLD_BIN = BOUNDS.indexOf(1);
/** Bins: one per bound plus the overflow bin. */
const BINS = BOUNDS.length + 1;

/**
 * A sliding window over the proxied traffic: the passive half of the health verdict.
 *
 * **Design.** A ring of 60 buckets, each `windowMs / 60` long (1 s for the default 60 s),
 * each holding a request count, a failure count and a 12-bin latency histogram; plus
 * running totals over the ring. Recording is O(1) with no allocation (typed arrays,
 * allocated once); a bucket leaving the window is subtracted from the totals when time
 * passes it. So memory is fixed (about 3.6 KiB) whatever the traffic, and the verdict is
 * O(1). A reservoir of samples would give an exact p95 but costs memory per sample and a
 * sort per verdict; the only decision needed is "is p95 above the threshold", which the
 * histogram decides exactly because the threshold is one of its bounds.
 *
 * **Window edge.** The window holds the current bucket and the 59 before it: a request
 * leaves it between `windowMs − windowMs/60` and `windowMs` after it was recorded.
 * Samples stamped earlier than the newest bucket seen (a clock that stepped back, a late
 * report) are counted in the newest bucket rather than dropped.
 *
 * **Verdict.** With at least `minRequests` requests in the window: failures / requests ≥
 * `errorRate` → degraded; with at least `minRequests` latency samples, a p95 latency above
 * `p95LatencyMs` → degraded. p95 is the nearest-rank one: above the threshold exactly when
 * more than `n − ceil(0.95·n)` samples are.
 */
export class PassiveWindow {
  private readonly bucketMs: number;
  /** Absolute bucket number held by each slot; -1 when empty. */
  private readonly slotBucket = new Float64Array(SLOTS).fill(-1);
  private readonly slotRequests = new Uint32Array(SLOTS);
  private readonly slotFailures = new Uint32Array(SLOTS);
  private readonly slotHistogram = new Uint32Array(SLOTS * BINS);
  private readonly totalHistogram = new Float64Array(BINS);
  private readonly bounds: Float64Array;
  private totalRequests = 0;
  private totalFailures = 0;
  /** Newest bucket number seen, or -1 before the first. */
  private head = -1;

  constructor(private readonly settings: PassiveSettings) {
    const { windowMs, minRequests, errorRate, p95LatencyMs } = settings;
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be > 0, got ${windowMs}`);
    if (!(minRequests >= 1)) throw new RangeError(`minRequests must be ≥ 1, got ${minRequests}`);
    if (!(errorRate > 0 && errorRate <= 1)) throw new RangeError(`errorRate must be in (0, 1], got ${errorRate}`);
    if (!(p95LatencyMs > 0)) throw new RangeError(`p95LatencyMs must be > 0, got ${p95LatencyMs}`);
    this.bucketMs = windowMs / SLOTS;
    this.bounds = Float64Array.from(BOUNDS, (m) => m * p95LatencyMs);
  }

  /** Bytes of the typed arrays that hold all state: fixed at construction. */
  get storageBytes(): number {
    return (
      this.slotBucket.byteLength +
      this.slotRequests.byteLength +
      this.slotFailures.byteLength +
      this.slotHistogram.byteLength +
      this.totalHistogram.byteLength +
      this.bounds.byteLength
    );
  }

  /** Counts one proxied request. O(1), allocation-free. */
  record(sample: TrafficSample): void {
    this.add(sample.atMs, sample.latencyMs, sample.upstreamFailure || sample.connectionFailure === true);
  }

  /** {@link record} without the object: what a hot path calls. */
  add(atMs: number, latencyMs: number | undefined, failure: boolean): void {
    const slot = this.advance(Math.floor(atMs / this.bucketMs));
    this.slotRequests[slot]! += 1;
    this.totalRequests += 1;
    if (failure) {
      this.slotFailures[slot]! += 1;
      this.totalFailures += 1;
    }
    if (latencyMs !== undefined && latencyMs >= 0) {
      const bin = this.binOf(latencyMs);
      this.slotHistogram[slot * BINS + bin]! += 1;
      this.totalHistogram[bin]! += 1;
    }
  }

  /** The decision alone, O(1) and allocation-free: cheap enough to ask after every request. */
  isDegraded(nowMs: number): boolean {
    this.advance(Math.floor(nowMs / this.bucketMs));
    return this.tooManyFailures() || this.tooSlow();
  }

  /** The verdict with its reason ("12 % of upstream requests failed in the last 60 s"). */
  verdict(nowMs: number): PassiveVerdict {
    this.advance(Math.floor(nowMs / this.bucketMs));
    const reasons: string[] = [];
    const span = formatSpan(this.settings.windowMs);
    if (this.tooManyFailures()) {
      const percent = Math.round((100 * this.totalFailures) / this.totalRequests);
      reasons.push(`${percent} % of upstream requests failed in the last ${span}`);
    }
    if (this.tooSlow()) {
      const p95 = this.estimateP95();
      const about = p95 === undefined ? '' : ` (about ${Math.round(p95)} ms)`;
      reasons.push(`p95 upstream latency above ${this.settings.p95LatencyMs} ms in the last ${span}${about}`);
    }
    return reasons.length === 0 ? { status: HEALTHY } : { status: DEGRADED, reason: reasons.join('; ') };
  }

  /** Counts in the window as of `nowMs`. */
  stats(nowMs: number): WindowStats {
    this.advance(Math.floor(nowMs / this.bucketMs));
    return {
      requests: this.totalRequests,
      failures: this.totalFailures,
      latencySamples: this.latencySamples(),
      slowSamples: this.slowSamples(),
      p95Ms: this.estimateP95(),
    };
  }

  private tooManyFailures(): boolean {
    const n = this.totalRequests;
    return n >= this.settings.minRequests && this.totalFailures >= this.settings.errorRate * n;
  }

  private tooSlow(): boolean {
    const n = this.latencySamples();
    if (n < this.settings.minRequests) return false;
    // Nearest rank: p95 is the ceil(0.95 n)-th smallest sample (integer arithmetic, no 0.95 rounding).
    return this.slowSamples() > n - Math.ceil((95 * n) / 100);
  }

  private latencySamples(): number {
    let n = 0;
    for (let b = 0; b < BINS; b++) n += this.totalHistogram[b]!;
    return n;
  }

  private slowSamples(): number {
    let n = 0;
    for (let b = THRESHOLD_BIN + 1; b < BINS; b++) n += this.totalHistogram[b]!;
    return n;
  }

  /** p95 by linear interpolation inside the histogram bin holding the nearest rank. */
  private estimateP95(): number | undefined {
    const n = this.latencySamples();
    if (n === 0) return undefined;
    const rank = Math.ceil((95 * n) / 100);
    let seen = 0;
    for (let b = 0; b < BINS; b++) {
      const count = this.totalHistogram[b]!;
      if (seen + count >= rank) {
        const lower = b === 0 ? 0 : this.bounds[b - 1]!;
        // The overflow bin has no upper bound: report its lower one ("at least").
        if (b === BINS - 1) return lower;
        const upper = this.bounds[b]!;
        return lower + ((upper - lower) * (rank - seen)) / count;
      }
      seen += count;
    }
    return undefined;
  }

  private binOf(latencyMs: number): number {
    const bounds = this.bounds;
    for (let b = 0; b < bounds.length; b++) if (latencyMs <= bounds[b]!) return b;
    return BINS - 1;
  }

  /**
   * Moves the window so that `bucket` is the newest (evicting the buckets it passes) and
   * returns the slot to count into. A bucket older than the newest counts as the newest.
   */
  private advance(at: number): number {
    const bucket = Math.max(at, 0);
    if (this.head >= 0 && bucket <= this.head) return this.head % SLOTS;
    if (this.head < 0 || bucket - this.head >= SLOTS) {
      this.clear();
    } else {
      for (let b = this.head + 1; b <= bucket; b++) this.evict(b % SLOTS);
    }
    this.head = bucket;
    const slot = bucket % SLOTS;
    this.slotBucket[slot] = bucket;
    return slot;
  }

  private evict(slot: number): void {
    if (this.slotBucket[slot] === -1) return;
    this.totalRequests -= this.slotRequests[slot]!;
    this.totalFailures -= this.slotFailures[slot]!;
    this.slotRequests[slot] = 0;
    this.slotFailures[slot] = 0;
    const base = slot * BINS;
    for (let b = 0; b < BINS; b++) {
      this.totalHistogram[b]! -= this.slotHistogram[base + b]!;
      this.slotHistogram[base + b] = 0;
    }
    this.slotBucket[slot] = -1;
  }

  private clear(): void {
    this.slotBucket.fill(-1);
    this.slotRequests.fill(0);
    this.slotFailures.fill(0);
    this.slotHistogram.fill(0);
    this.totalHistogram.fill(0);
    this.totalRequests = 0;
    this.totalFailures = 0;
  }
}

/** "60 s", "1.5 s", "500 ms": the window length as the reason quotes it. */
function formatSpan(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  return `${Math.round(ms / 100) / 10} s`;
}
