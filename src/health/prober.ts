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

  constructor(private readonly options: ProberOptions) {
    if (!(options.intervalMs > 0)) throw new RangeError(`intervalMs must be > 0, got ${options.intervalMs}`);
    this.random = options.random ?? Math.random;
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
    const { intervalMs } = this.options;
    this.timer = setTimeout(() => this.tick(), Math.round(intervalMs * (0.9 + 0.2 * this.random())));
    this.timer.unref();
    this.options.probe(controller.signal).then(
      (result) => this.settle(controller, result),
      // A ProbeFunction must not reject; an injected one that does still counts as a failed probe.
      () => this.settle(controller, { result: 'failure', reason: 'probe failed', durationMs: 0 }),
    );
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
