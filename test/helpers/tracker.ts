import type { PassiveOptions, ProbeOptions } from '../../src/config/options';
import type { ProbeFunction, ProbeVerdict } from '../../src/health/probe';
import type { HealthStatus } from '../../src/protocol/health';
import type { StatusChange } from '../../src/health/states';
import { HealthTracker, type HealthTrackerOptions } from '../../src/health/tracker';
import { waitFor, WAIT_MS } from './deadline';

/**
 * Probe settings for a tracker whose probes a test drives itself: the interval is so long
 * that after the first probe (at `start()`) only the probes a test asks for happen.
 */
export const QUIET_PROBE: Required<ProbeOptions> = { path: '/v1/health', intervalMs: 600_000, timeoutMs: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 };

/** The passive window the health tests use: 20 requests at least, 10 % errors or a 2 s p95 degrade. */
export const TEST_PASSIVE: Required<PassiveOptions> = { windowMs: 60_000, minRequests: 20, errorRate: 0.1, p95LatencyMs: 2_000 };

/**
 * A real `HealthTracker` with the test settings: {@link QUIET_PROBE}, {@link TEST_PASSIVE} and
 * an upstream where nothing listens (port 9, discard), unless `overrides` say otherwise (a
 * real upstream, a `probeFunction`, a clock). The caller stops it.
 */
export function makeTracker(overrides: Partial<HealthTrackerOptions> = {}): HealthTracker {
  return new HealthTracker({ upstream: new URL('http://127.0.0.1:9'), probe: QUIET_PROBE, passive: TEST_PASSIVE, ...overrides });
}

/** A probe function the test answers by hand; nothing touches the network. */
export interface ScriptedProbe {
  readonly probe: ProbeFunction;
  /** The abort signal of every probe started so far. */
  readonly signals: AbortSignal[];
  /** Probes started so far. */
  readonly calls: number;
  /** Answers the oldest probe in flight (its duration is reported as 7 ms). */
  answer(verdict: ProbeVerdict): void;
}

export function scriptedProbe(): ScriptedProbe {
  const pending: Array<(verdict: ProbeVerdict) => void> = [];
  const signals: AbortSignal[] = [];
  const probe: ProbeFunction = (signal) =>
    new Promise((resolve) => {
      signals.push(signal);
      pending.push((verdict) => resolve({ ...verdict, durationMs: 7 }));
      signal.addEventListener('abort', () => resolve({ result: 'failure', reason: 'probe aborted', durationMs: 0 }));
    });
  return {
    probe,
    signals,
    get calls(): number {
      return signals.length;
    },
    answer(verdict: ProbeVerdict): void {
      const next = pending.shift();
      if (!next) throw new Error('no probe in flight');
      next(verdict);
    },
  };
}

/** Lets the prober take in an answered probe (it settles on a promise): one turn of the event loop. */
export const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Resolves with the first 'status' event to `status` (undefined at once if already there); fails after `withinMs`. */
export function waitForStatus(tracker: HealthTracker, status: HealthStatus, withinMs = WAIT_MS): Promise<StatusChange | undefined> {
  return waitFor<StatusChange | undefined>(
    () => `tracker ${status} (still ${tracker.status}: ${tracker.reason})`,
    (done) => {
      if (tracker.status === status) return done(undefined);
      const onStatus = (change: StatusChange): void => {
        if (change.status === status) done(change);
      };
      tracker.on('status', onStatus);
      return () => tracker.off('status', onStatus);
    },
    withinMs,
  );
}

/** Resolves with the next `count` status events; fails after `withinMs`, saying how many came. */
export function collectChanges(tracker: HealthTracker, count: number, withinMs = WAIT_MS): Promise<StatusChange[]> {
  const changes: StatusChange[] = [];
  return waitFor<StatusChange[]>(
    () => `${count} status changes (${changes.length} came: ${changes.map((c) => c.status).join(', ') || 'none'})`,
    (done) => {
      const onStatus = (change: StatusChange): void => {
        changes.push(change);
        if (changes.length >= count) done(changes);
      };
      tracker.on('status', onStatus);
      return () => tracker.off('status', onStatus);
    },
    withinMs,
  );
}
