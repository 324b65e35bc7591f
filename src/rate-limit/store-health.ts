/** Why the shared store is taken as down: a closed set, safe for logs. */
export type StoreFailure = 'timeout' | 'connection' | 'error';

/** How often a down store is probed again. */
export const PROBE_INTERVAL_MS = 1000;
/** A store that fails again this soon after coming back is flapping: probed less and less often. */
const FLAP_MS = 10_000;
/** The longest wait between probes of a flapping store. */
const MAX_PROBE_INTERVAL_MS = 30_000;

/** What the health of the shared store needs: a probe and where to report a change. */
export interface StoreHealthHooks {
  /** The longest a probe may take. */
  readonly timeoutMs: number;
  /** One round trip to the store (a PING). */
  readonly ping: () => Promise<unknown>;
  /** Called once per change of state, never per request. */
  readonly changed: (up: boolean, reason: StoreFailure | undefined) => void;
}

/**
 * Whether the shared store answers, as a circuit breaker: after one failed check it is down,
 * and checks are decided without it (no request waits for a store that just failed) until a
 * probe, sent at once and then every second, is answered within the timeout. A store that
 * fails again within 10 s of coming back (one that answers probes but not checks, say) is
 * probed at twice the interval each time, up to 30 s, so that its log stays a few lines. A
 * store that was never reached counts as down, reported by the first outcome.
 */
export class StoreHealth {
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private probing = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private intervalMs = PROBE_INTERVAL_MS;
  private upSince = 0;

  constructor(
    private readonly hooks: StoreHealthHooks,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while checks go to the store. */
  get up(): boolean {
    return this.state === 'up';
  }

  /** The wait between probes while down: 1 s, doubled each time the store flaps, up to 30 s. */
  get probeIntervalMs(): number {
    return this.intervalMs;
  }

  /** A check failed: down now, probed from now on. */
  failed(reason: StoreFailure): void {
    if (this.state === 'down') return;
    const flapping = this.state === 'up' && this.now() - this.upSince < FLAP_MS;
    this.intervalMs = flapping ? Math.min(this.intervalMs * 2, MAX_PROBE_INTERVAL_MS) : PROBE_INTERVAL_MS;
    this.state = 'down';
    this.hooks.changed(false, reason);
    this.schedule(flapping ? this.intervalMs : 0);
  }

  /** The client (re)connected: probe now instead of at the next interval. */
  connected(): void {
    if (this.state !== 'up') this.schedule(0);
  }

  /**
   * The first probe, one interval after start unless the client connects sooner: a store
   * that cannot be reached at all is reported within a second, one still connecting is not
   * reported down first.
   */
  start(): void {
    if (this.state === 'unknown') this.schedule(PROBE_INTERVAL_MS);
  }

  /** Stops probing; frees the timer. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.probing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(probe, delayMs, this);
    this.timer.unref();
  }

  /** One probe; another follows while the store stays down. */
  async probe(): Promise<void> {
    if (this.stopped || this.probing) return;
    this.probing = true;
    let timer: NodeJS.Timeout | undefined;
    let outcome: StoreFailure | undefined;
    try {
      await Promise.race([
        this.hooks.ping(),
        new Promise((_resolve, reject) => {
          timer = setTimeout(reject, this.hooks.timeoutMs, new ProbeTimeout());
        }),
      ]);
    } catch (err) {
      outcome = failureOf(err);
    } finally {
      clearTimeout(timer);
      this.probing = false;
    }
    if (this.stopped) return;
    if (outcome === undefined) {
      if (this.state !== 'up') {
        this.state = 'up';
        this.upSince = this.now();
        this.hooks.changed(true, undefined);
      }
      return;
    }
    if (this.state !== 'down') {
      this.state = 'down';
      this.hooks.changed(false, outcome);
    }
    this.schedule(this.intervalMs);
  }
}

/** The timer of a check or probe ran out before the store answered. */
export class ProbeTimeout extends Error {
  override readonly name = 'ProbeTimeout';
  constructor() {
    super('the rate-limit store did not answer in time');
  }
}

/** The category of a store failure, for logs and the breaker (never the error's text, which may name a key). */
export function failureOf(err: unknown): StoreFailure {
  if (err instanceof ProbeTimeout) return 'timeout';
  const e = err as { code?: unknown; message?: unknown; name?: unknown };
  const message = typeof e.message === 'string' ? e.message : '';
  if (typeof e.code === 'string' && /^E[A-Z]+$/.test(e.code)) return 'connection';
  // ioredis' own words for "not connected" (no offline queue) and for a connection lost under a command.
  if (/enableOfflineQueue|Connection is closed|isn't ready|Stream isn't writeable|MaxRetriesPerRequest/i.test(message)) return 'connection';
  return 'error';
}

function probe(health: StoreHealth): void {
  void health.probe();
}
