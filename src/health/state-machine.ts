import type { PassiveVerdict } from './passive-window';
import type { ProbeVerdict } from './probe';
import { DEGRADED, HEALTHY, UNHEALTHY, type HealthStatus } from '../protocol/health';
import { REASON_STARTING, type HealthState, type StatusChange } from './states';

/** The probe thresholds the state machine applies (`health.probe` in the configuration). */
export interface Thresholds {
  /** Consecutive failed probes that make the upstream `unhealthy` (≥ 1). */
  readonly unhealthyThreshold: number;
  /** Consecutive successful probes needed to leave `unhealthy` (≥ 1). */
  readonly healthyThreshold: number;
}

/**
 * Where the active (probe) verdict stands:
 * - `starting`: no probe has succeeded yet (and fewer than `unhealthyThreshold` failed);
 * - `up`: the last verdict is "reachable" (healthy, or degraded by failures below the threshold);
 * - `down`: `unhealthyThreshold` consecutive failures were seen; only `healthyThreshold`
 *   consecutive successes lead out.
 */
type Phase = 'starting' | 'up' | 'down';

/**
 * The health verdict as pure logic: probe results and the passive verdict go in,
 * the current `{status, reason, since}` comes out. No timers, no I/O; time comes from the
 * injected `now()` and is only used to stamp `since` and `at`.
 *
 * Semantics:
 *
 * 1. **Start.** `unhealthy`, "waiting for the first probe". The first *successful* probe
 *    (healthy or upstream-degraded) leaves this state at once: nothing has been judged
 *    bad yet, so there is nothing for hysteresis to guard. Failed probes during start keep
 *    it `unhealthy` ("no successful probe yet: …") instead of turning it `degraded`: a
 *    sidecar whose upstream is still booting must not look ready (200) to a load balancer.
 *    Once `unhealthyThreshold` consecutive failures are seen, the upstream is judged
 *    unhealthy like at any other time (rule 3).
 * 2. **Failures below the threshold.** After at least one success, a failed probe makes it
 *    `degraded`, reason "probe failed (n of threshold before unhealthy): …". A success
 *    resets the count.
 * 3. **Unhealthy, with hysteresis.** `unhealthyThreshold` consecutive failures make it
 *    `unhealthy`. Leaving needs `healthyThreshold` consecutive successes; a failure in
 *    between restarts the count. An upstream-degraded answer is a success and counts.
 * 4. **Upstream says degraded.** A successful probe whose answer says `degraded` makes it
 *    `degraded` with "upstream reports degraded: <its details>" (unless rule 3 holds it
 *    `unhealthy`); the next plain success makes it `healthy` again.
 * 5. **Passive verdict** (from the proxied traffic). Combined with the active one, worst
 *    wins, but it can only ever make the status `degraded`, never `unhealthy`: a traffic
 *    error rate is evidence of trouble, not of an unreachable upstream. When both the
 *    active and passive verdicts are `degraded`, the reason names both.
 * 3a. **Confirmed by traffic.** A failed probe that was sent because live traffic just
 *    saw a run of connection failures counts as the whole threshold: the traffic's
 *    failures and the probe are independent evidence, so a dead upstream turns
 *    `unhealthy` within one probe timeout instead of `unhealthyThreshold` intervals.
 *
 * Every input returns a {@link StatusChange} when, and only when, the *status* changed, so a
 * caller that emits what it gets back emits exactly once per change. A change of reason
 * alone (a second failed probe while `degraded`) updates {@link current} without one.
 */
export class HealthStateMachine {
  private phase: Phase = 'starting';
  private consecutiveFailures = 0;
  private consecutiveSuccesses = 0;
  private lastFailureReason: string | undefined;
  /** Reason of the last successful probe when the upstream itself said `degraded`. */
  private upstreamDegradedReason: string | undefined;
  private passiveReason: string | undefined;
  /** The current run of failures was confirmed by a traffic-triggered probe (rule 3a). */
  private confirmedByTraffic = false;
  private state: HealthState;

  /**
   * @param thresholds `unhealthyThreshold` and `healthyThreshold`, integers ≥ 1
   * @param now the clock (milliseconds) used for `since` and `at`
   */
  constructor(
    private thresholds: Thresholds,
    private readonly now: () => number = Date.now,
  ) {
    checkThresholds(thresholds);
    this.state = { status: UNHEALTHY, reason: REASON_STARTING, since: now() };
  }

  /**
   * New thresholds (live reload). The verdict and the running counts are kept: the new
   * numbers judge the next probe result, so a change never resets or flips the status by itself.
   */
  setThresholds(thresholds: Thresholds): void {
    checkThresholds(thresholds);
    this.thresholds = { unhealthyThreshold: thresholds.unhealthyThreshold, healthyThreshold: thresholds.healthyThreshold };
  }

  /** The current verdict (a new object whenever status or reason changed). */
  get current(): HealthState {
    return this.state;
  }

  /**
   * Takes in one probe result (rules 1–4), and optionally a fresh passive verdict with it,
   * so that both land in one step and no intermediate status is reported in between.
   * `confirmsTraffic`: the probe was sent because of failing live traffic (rule 3a).
   */
  recordProbe(probe: ProbeVerdict, passive?: PassiveVerdict, confirmsTraffic = false): StatusChange | undefined {
    if (passive) this.passiveReason = passiveReasonOf(passive);
    if (probe.result === 'failure') {
      this.consecutiveFailures += 1;
      if (confirmsTraffic && this.consecutiveFailures < this.thresholds.unhealthyThreshold) this.confirmedByTraffic = true;
      this.consecutiveSuccesses = 0;
      this.lastFailureReason = probe.reason;
      if (this.consecutiveFailures >= this.thresholds.unhealthyThreshold || this.confirmedByTraffic) this.phase = 'down';
    } else {
      this.consecutiveFailures = 0;
      this.confirmedByTraffic = false;
      this.consecutiveSuccesses += 1;
      this.upstreamDegradedReason =
        probe.result === 'degraded' ? (probe.details === undefined ? 'upstream reports degraded' : `upstream reports degraded: ${probe.details}`) : undefined;
      if (this.phase === 'starting') this.phase = 'up';
      else if (this.phase === 'down' && this.consecutiveSuccesses >= this.thresholds.healthyThreshold) this.phase = 'up';
    }
    return this.update();
  }

  /** Takes in the passive verdict of the proxied traffic (rule 5); the latest one replaces the previous. */
  setPassive(verdict: PassiveVerdict): StatusChange | undefined {
    this.passiveReason = passiveReasonOf(verdict);
    return this.update();
  }

  /** Recomputes the verdict; returns the change when the status moved. */
  private update(): StatusChange | undefined {
    const [status, reason] = this.verdict();
    const previous = this.state;
    if (status === previous.status) {
      if (reason !== previous.reason) this.state = { status, reason, since: previous.since };
      return undefined;
    }
    const at = this.now();
    this.state = { status, reason, since: at };
    return { status, previous: previous.status, reason, at };
  }

  private verdict(): [HealthStatus, string] {
    const { unhealthyThreshold, healthyThreshold } = this.thresholds;
    switch (this.phase) {
      case 'starting':
        return [UNHEALTHY, this.lastFailureReason === undefined ? REASON_STARTING : `no successful probe yet: ${this.lastFailureReason}`];
      case 'down': {
        const failed = this.confirmedByTraffic
          ? `live traffic could not reach the upstream and a probe confirmed it: ${this.lastFailureReason ?? 'unknown'}`
          : this.consecutiveFailures > 0
            ? `${this.consecutiveFailures} consecutive probes failed: ${this.lastFailureReason ?? 'unknown'}`
            : `probes failed: ${this.lastFailureReason ?? 'unknown'}`;
        const recovering = this.consecutiveSuccesses > 0 ? ` (recovering: ${this.consecutiveSuccesses} of ${healthyThreshold} successful probes)` : '';
        return [UNHEALTHY, failed + recovering];
      }
      case 'up': {
        const active =
          this.consecutiveFailures > 0
            ? `probe failed (${this.consecutiveFailures} of ${unhealthyThreshold} before unhealthy): ${this.lastFailureReason ?? 'unknown'}`
            : this.upstreamDegradedReason;
        const reasons = [active, this.passiveReason].filter((r): r is string => r !== undefined);
        return reasons.length === 0 ? [HEALTHY, 'upstream healthy'] : [DEGRADED, reasons.join('; ')];
      }
    }
  }
}

function passiveReasonOf(verdict: PassiveVerdict): string | undefined {
  return verdict.status === DEGRADED ? verdict.reason : undefined;
}

function checkThresholds(thresholds: Thresholds): void {
  for (const key of ['unhealthyThreshold', 'healthyThreshold'] as const) {
    const value = thresholds[key];
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${key} must be an integer ≥ 1, got ${value}`);
  }
}
