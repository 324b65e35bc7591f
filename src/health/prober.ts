import { performance } from 'node:perf_hooks';
import type { ProbeFunction, ProbeResult } from './probe';

/** Settings of the timer-driven prober. */
export interface ProberOptions {
  /** Runs one probe (usually `(signal) => probeUpstream(target, signal)`). */
  readonly probe: ProbeFunction;
  /** Time between probe starts; each wait is drawn within ±10 %. */
  readonly intervalMs: number;
  /** Receives every result, in order. Not called after `stop()`. */
  readonly onResult: (result: ProbeResult) => void;
  /** Source of jitter in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The thin, timer-driven part of probing: the first probe at `start()`, then one every
 * `intervalMs` ± 10 % (jitter keeps a fleet of gateways from probing in lockstep), counted
 * from the start of the previous probe. Never two probes in flight: a tick that finds one
 * still running starts the next as soon as it ends. Timers are `unref`'d, so probing alone
 * never keeps a process alive.
 */
export class Prober {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: AbortController | undefined;
  /** A tick fell while a probe was running: start the next one when it ends. */
  private due = false;
  private started = false;
  private stopped = false;
  private readonly random: () => number;
  private intervalMs: number;
  /** When the last probe started (`performance.now()`), for rescheduling on a new interval. */
  private lastStartMs = 0;

  constructor(private readonly options: ProberOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${options.intervalMs}`);
    this.random = options.random ?? Math.random;
    this.intervalMs = options.intervalMs;
  }

  /**
   * A new interval (live reload). A probe in flight carries on; the next one is due a new
   * interval after the start of the last one (at once if that time has passed), so a
   * change never leaves a gap of the old interval nor probes twice in a row.
   */
  setInterval(intervalMs: number): void {
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${intervalMs}`);
    if (intervalMs === this.intervalMs) return;
    this.intervalMs = intervalMs;
    if (this.timer === undefined) return; // not started, stopped, or a tick is already due
    clearTimeout(this.timer);
    const delay = Math.max(0, this.lastStartMs + this.jittered() - performance.now());
    this.timer = setTimeout(() => this.tick(), delay);
    this.timer.unref();
  }

  /** Starts probing with a first probe right away. Idempotent; no effect after `stop()`. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.run();
  }

  /**
   * Probes now, unless a probe is in flight (or probing is not running); the periodic
   * schedule restarts from this probe. Returns whether a probe was started.
   */
  probeNow(): boolean {
    if (!this.started || this.stopped || this.inFlight !== undefined) return false;
    this.run();
    return true;
  }

  /** Clears the timer and aborts a probe in flight; its result is dropped. Idempotent. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    const inFlight = this.inFlight;
    this.inFlight = undefined;
    inFlight?.abort();
  }

  private run(): void {
    clearTimeout(this.timer);
    this.due = false;
    const controller = new AbortController();
    this.inFlight = controller;
    this.lastStartMs = performance.now();
    this.timer = setTimeout(() => this.tick(), this.jittered());
    this.timer.unref();
    this.options.probe(controller.signal).then(
      (result) => this.settle(controller, result),
      // A ProbeFunction must not reject; an injected one that does still counts as a failed probe.
      () => this.settle(controller, { result: 'failure', reason: 'probe failed', durationMs: 0 }),
    );
  }

  /** One wait: the interval ± 10 %. */
  private jittered(): number {
    return Math.round(this.intervalMs * (0.9 + 0.2 * this.random()));
  }

  private tick(): void {
    this.timer = undefined;
    if (this.inFlight !== undefined) this.due = true;
    else this.run();
  }

  private settle(controller: AbortController, result: ProbeResult): void {
    if (this.inFlight !== controller) return; // stopped meanwhile
    this.inFlight = undefined;
    try {
      this.options.onResult(result);
    } catch (err) {
      // A throwing listener is a bug of its own: surface it like any throwing event listener
      // would, instead of turning it into an unhandled rejection or swallowing it.
      queueMicrotask(() => {
        throw err;
      });
    }
    if (this.due && !this.stopped) this.run();
  }
}
