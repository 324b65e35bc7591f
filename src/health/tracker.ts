import { EventEmitter } from 'node:events';
import type { PassiveOptions, ProbeOptions } from '../config/options';
import { ConnectionFailureRun } from './connection-failure-run';
import { PassiveWindow, type TrafficSample } from './passive-window';
import { probeUpstream, type ProbeFunction, type ProbeResult, type ProbeResultKind, type ProbeTarget } from './probe';
import { Prober } from './prober';
import { HealthStateMachine } from './state-machine';
import { HEALTHY, UNHEALTHY, type HealthStatus } from '../protocol/health';
import type { HealthState, StatusChange } from './states';

/** Called once per finished probe: where metrics count probes by result and time them. */
export type ProbeObserver = (result: ProbeResultKind, durationMs: number) => void;

/** A proxied request as the proxy's observer reports it: a {@link TrafficSample} whose time the tracker stamps. */
export type RequestRecord = Omit<TrafficSample, 'atMs'>;

/** Connection failures in a row on live traffic that trigger an immediate probe. */
export const CONNECTION_FAILURE_RUN = 3;

/** What the tracker needs: the upstream and the `health` block of the resolved configuration. */
export interface HealthTrackerOptions {
  /** The upstream origin (`ResolvedConfig.upstream`). */
  readonly upstream: URL;
  /** `ResolvedConfig.health.probe`. */
  readonly probe: Required<ProbeOptions>;
  /** `ResolvedConfig.health.passive`. */
  readonly passive: Required<PassiveOptions>;
  /** Counts and times probes (metrics). */
  readonly onProbe?: ProbeObserver;
  /** Clock in ms for the window, `since` and `at`. @default Date.now */
  readonly now?: () => number;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Replaces the HTTP probe (tests, embedders). @default GET {upstream}{probe.path} */
  readonly probeFunction?: ProbeFunction;
}

/** The settings a running tracker can take anew (see {@link HealthTracker.reconfigure}). */
export type HealthSettings = Pick<HealthTrackerOptions, 'upstream' | 'probe' | 'passive'>;

function samePassive(a: Required<PassiveOptions>, b: Required<PassiveOptions>): boolean {
  return a.windowMs === b.windowMs && a.minRequests === b.minRequests && a.errorRate === b.errorRate && a.p95LatencyMs === b.p95LatencyMs;
}

/** The tracker's events. */
export interface HealthTrackerEvents {
  /** Once per change of status, never for a change of reason alone. */
  status: [change: StatusChange];
}

/**
 * Watches the upstream: the active prober, the passive window over the proxied
 * traffic and the state machine, tied together. Emits `'status'` once per change of
 * status. Logging is the listener's business (one line per event); probe hits are never
 * logged here.
 *
 * Lifecycle: construct, subscribe, `start()` (first probe at once), `stop()` to free the
 * timer and abort a probe in flight. The gateway's own shutdown is no business of the
 * tracker's: it judges the upstream only.
 *
 * The passive verdict is re-evaluated after every recorded request (an O(1) check; the
 * reason text is built only when the verdict flips) and at every probe result, which
 * also lets old failures age out of the window when the traffic stops. So while degraded
 * by traffic, the quoted numbers ("12 % of …") are refreshed once per probe interval.
 *
 * `'status'` listeners run synchronously: from the prober's callback, or inside
 * `recordRequest` (the proxy's hot path) when the traffic verdict flips. They must not
 * throw; one that does from a probe result surfaces as an uncaught exception, like any
 * throwing listener in a timer callback.
 */
export class HealthTracker extends EventEmitter<HealthTrackerEvents> {
  private readonly machine: HealthStateMachine;
  private window: PassiveWindow;
  private run: ConnectionFailureRun;
  private settings: HealthSettings;
  /** What the HTTP probe asks; a probe in flight keeps the target it started with. */
  private target: ProbeTarget;
  private readonly prober: Prober;
  private readonly now: () => number;
  private readonly onProbe: ProbeObserver | undefined;
  private passiveDegraded = false;
  private stopped = false;
  /** The probe in flight was sent because live traffic saw a run of connection failures. */
  private trafficProbe = false;

  constructor(options: HealthTrackerOptions) {
    super();
    const { upstream, probe, passive } = options;
    this.now = options.now ?? Date.now;
    this.onProbe = options.onProbe;
    this.machine = new HealthStateMachine(probe, this.now);
    this.window = new PassiveWindow(passive);
    // At most one traffic-triggered probe per probe timeout: a dead upstream under heavy
    // traffic is re-probed promptly, never in a tight loop.
    this.run = new ConnectionFailureRun(CONNECTION_FAILURE_RUN, probe.timeoutMs);
    this.settings = { upstream, probe, passive };
    this.target = { upstream, path: probe.path, timeoutMs: probe.timeoutMs };
    this.prober = new Prober({
      probe: options.probeFunction ?? ((signal) => probeUpstream(this.target, signal)),
      intervalMs: probe.intervalMs,
      onResult: (result) => this.probed(result),
      ...(options.random && { random: options.random }),
    });
  }

  /** The current verdict: status, reason and since when. */
  get current(): HealthState {
    return this.machine.current;
  }

  /** `healthy`, `degraded` or `unhealthy`. */
  get status(): HealthStatus {
    return this.machine.current.status;
  }

  /** Why the status is what it is (published as `details` when not healthy). */
  get reason(): string {
    return this.machine.current.reason;
  }

  /** True while `unhealthy` (discovery answers 503, fail-fast applies, `/readyz` fails). */
  isUnhealthy(): boolean {
    return this.machine.current.status === UNHEALTHY;
  }

  /** Starts probing: the first probe goes out at once. Idempotent. */
  start(): void {
    if (!this.stopped) this.prober.start();
  }

  /** Probes now unless a probe is in flight; returns whether one was started. */
  probeNow(): boolean {
    return this.prober.probeNow();
  }

  /**
   * Records one proxied request (see {@link TrafficSample} for what counts as a failure
   * and what is not recorded at all). Called on the hot path: O(1), allocation-free
   * unless the passive verdict flips. A run of connection failures triggers a probe.
   */
  recordRequest(request: RequestRecord): void {
    if (this.stopped) return;
    const at = this.now();
    const connectionFailure = request.connectionFailure === true;
    this.window.add(at, request.latencyMs, request.upstreamFailure || connectionFailure);
    if (this.run.record(connectionFailure, at) && !this.isUnhealthy()) {
      // A probe already in flight answers just as well: its result confirms the traffic too.
      this.prober.probeNow();
      this.trafficProbe = true;
    }
    const degraded = this.window.isDegraded(at);
    if (degraded !== this.passiveDegraded) {
      this.passiveDegraded = degraded;
      this.emitChange(this.machine.setPassive(this.window.verdict(at)));
    }
  }

  /**
   * Records a WebSocket upgrade that failed on the upstream's side: `'connection'` when the
   * upstream could not be reached or reset (the default), `'response'` when it answered the
   * upgrade with 502, 503 or 504. An upgrade refused with another status is a normal answer.
   */
  recordUpgradeFailure(kind: 'connection' | 'response' = 'connection'): void {
    this.recordRequest({ upstreamFailure: true, connectionFailure: kind === 'connection' });
  }

  /**
   * New settings (live reload), without a gap and without losing the verdict: the status,
   * its reason and the threshold counts carry over; a probe in flight finishes against
   * what it started with; the next probe follows the new interval, counted from the start
   * of the last one. A new passive window starts empty (its buckets are sized by
   * `windowMs`), and a new upstream is probed at once, since the verdict was about the old one.
   */
  reconfigure(next: HealthSettings): void {
    const { probe, passive, upstream } = next;
    const previous = this.settings;
    this.settings = { upstream, probe, passive };
    this.machine.setThresholds(probe);
    this.target = { upstream, path: probe.path, timeoutMs: probe.timeoutMs };
    if (probe.timeoutMs !== previous.probe.timeoutMs) this.run = new ConnectionFailureRun(CONNECTION_FAILURE_RUN, probe.timeoutMs);
    if (!samePassive(passive, previous.passive)) this.window = new PassiveWindow(passive);
    this.prober.setInterval(probe.intervalMs);
    if (upstream.href !== previous.upstream.href) this.prober.probeNow();
  }

  /** Stops probing (timer cleared, probe in flight aborted) and recording. Idempotent. */
  stop(): void {
    this.stopped = true;
    this.prober.stop();
  }

  private probed(result: ProbeResult): void {
    const passive = this.window.verdict(this.now());
    this.passiveDegraded = passive.status !== HEALTHY;
    const confirmsTraffic = this.trafficProbe;
    this.trafficProbe = false;
    this.emitChange(this.machine.recordProbe(result, passive, confirmsTraffic));
    this.onProbe?.(result.result, result.durationMs);
  }

  private emitChange(change: StatusChange | undefined): void {
    if (change) this.emit('status', change);
  }
}
