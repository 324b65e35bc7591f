/**
 * Counts consecutive connection failures on live traffic and says when to probe at once,
 * so that an upstream that dies is seen within one probe timeout rather than one probe
 * interval.
 *
 * Any recorded request that is not a connection failure (an answer from the upstream, even
 * a 503) ends the run. When the run reaches `threshold`, {@link record} returns true once and
 * the run starts again; a trigger less than `cooldownMs` after the previous one is held back
 * (the run keeps counting and fires at the first failure after the cooldown), so a dead
 * upstream under heavy traffic gets at most one immediate probe per cooldown.
 */
export class ConnectionFailureRun {
  private run = 0;
  private lastTriggerAt = Number.NEGATIVE_INFINITY;

  /**
   * @param threshold connection failures in a row that call for a probe (≥ 1)
   * @param cooldownMs least time between two triggers
   */
  constructor(
    readonly threshold: number,
    readonly cooldownMs: number,
  ) {
    if (!Number.isInteger(threshold) || threshold < 1) throw new RangeError(`threshold must be an integer ≥ 1, got ${threshold}`);
  }

  /** Current length of the run. */
  get length(): number {
    return this.run;
  }

  /** Counts one request; true when an immediate probe is due now. */
  record(connectionFailure: boolean, nowMs: number): boolean {
    if (!connectionFailure) {
      this.run = 0;
      return false;
    }
    this.run += 1;
    if (this.run < this.threshold || nowMs - this.lastTriggerAt < this.cooldownMs) return false;
    this.run = 0;
    this.lastTriggerAt = nowMs;
    return true;
  }
}
